"""Lean row reads and writes for the consent write path.

A banner decision is a dozen small statements. Through the ORM each cost more CPU to build
(query compiler, model checks) than the database spent on it: 17 ms of CPU per decision on
the bench machine, most of it compiling SQL for two or three rows. These helpers send the
same statements with the same values: every value passes through its field's `pre_save`
and `get_db_prep_save` on the way in, and through the field's and backend's converters on the
way out, as the ORM does; only the query building is skipped (the SQL per model and shape is
built once). Django signals are not sent; no model written here has receivers.
"""

from functools import lru_cache

from django.db import DEFAULT_DB_ALIAS, connection, connections

from consents import prepared


def _database():
    """The real connection: `django.db.connection` is a proxy that looks it up on every
    attribute, and the field methods below read several attributes per value."""
    return connections[DEFAULT_DB_ALIAS]


def insert(instances: list) -> None:
    """INSERT unsaved instances of one model in one statement and set their primary keys."""
    if not instances:
        return
    model = type(instances[0])
    database = _database()
    keys = run(_insert_sql(model, len(instances)), _insert_params(model, instances, database))
    pk_name = model._meta.pk.attname
    for instance, (key,) in zip(instances, keys, strict=True):
        setattr(instance, pk_name, key)
        instance._state.adding = False
        instance._state.db = database.alias


def insert_new(instances: list) -> int:
    """INSERT the instances that break no unique constraint, skip the others (ON CONFLICT DO
    NOTHING); return how many went in. Primary keys are not set."""
    if not instances:
        return 0
    model = type(instances[0])
    database = _database()
    params = _insert_params(model, instances, database)
    sql = _insert_sql(model, len(instances)).replace(
        " RETURNING ", " ON CONFLICT DO NOTHING RETURNING "
    )
    with database.cursor() as cursor:
        cursor.execute(sql, params)
        return len(cursor.fetchall())


def update(instance, field_names: list[str]) -> None:
    """UPDATE the named fields of a saved instance (as save(update_fields=...) would)."""
    meta = type(instance)._meta
    fields = [meta.get_field(name) for name in field_names]
    database = _database()
    params = [field.get_db_prep_save(field.pre_save(instance, False), database) for field in fields]
    params.append(instance.pk)
    run(_update_sql(type(instance), tuple(field_names)), params)


def fetch(model, field_names: tuple[str, ...], where: str, params: list, for_update=False):
    """Instances of `model` with only `field_names` loaded (the rest deferred) for the rows
    that match `where` (SQL over the model's own columns, %s placeholders)."""
    columns, converters = _select_shape(model, field_names)
    database = _database()
    table = database.ops.quote_name(model._meta.db_table)
    sql = f"SELECT {columns} FROM {table} WHERE {where}"  # noqa: S608  (names from the model)
    if for_update and database.features.has_select_for_update:
        sql += " FOR UPDATE"
    rows = run(sql, params)
    instances = []
    for row in rows:
        values = []
        for value, (expression, field_converters) in zip(row, converters, strict=True):
            for convert in field_converters:
                value = convert(value, expression, database)
            values.append(value)
        instances.append(model.from_db(database.alias, field_names, values))
    return instances


def run(sql: str, params: list) -> list[tuple]:
    """Rows of `sql` (empty for a statement that returns none)."""
    if prepared.enabled():
        return prepared.run_prepared(sql, params) or []
    with _database().cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall() if cursor.description is not None else []


def placeholders(count: int) -> str:
    return ", ".join(["%s"] * count)


def _insert_params(model, instances: list, database) -> list:
    fields = _insert_fields(model)
    return [
        field.get_db_prep_save(field.pre_save(instance, True), database)
        for instance in instances
        for field in fields
    ]


@lru_cache
def _insert_fields(model) -> list:
    return [f for f in model._meta.concrete_fields if not f.primary_key]


@lru_cache
def _insert_sql(model, rows: int) -> str:
    quote = connection.ops.quote_name
    fields = _insert_fields(model)
    columns = ", ".join(quote(f.column) for f in fields)
    values = ", ".join([f"({placeholders(len(fields))})"] * rows)
    table, key = quote(model._meta.db_table), quote(model._meta.pk.column)
    return f"INSERT INTO {table} ({columns}) VALUES {values} RETURNING {key}"  # noqa: S608


@lru_cache
def _update_sql(model, field_names: tuple[str, ...]) -> str:
    quote = connection.ops.quote_name
    meta = model._meta
    assignments = ", ".join(f"{quote(meta.get_field(name).column)} = %s" for name in field_names)
    table, key = quote(meta.db_table), quote(meta.pk.column)
    return f"UPDATE {table} SET {assignments} WHERE {key} = %s"  # noqa: S608  (model names)


@lru_cache
def _select_shape(model, field_names: tuple[str, ...]):
    meta = model._meta
    quote = connection.ops.quote_name
    fields = [meta.get_field(name) for name in field_names]
    columns = ", ".join(quote(f.column) for f in fields)
    converters = []
    for field in fields:
        expression = field.get_col(meta.db_table)
        converters.append(
            (
                expression,
                connection.ops.get_db_converters(expression) + field.get_db_converters(connection),
            )
        )
    return columns, converters
