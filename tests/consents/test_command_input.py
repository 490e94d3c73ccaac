"""Bad input to the export, verify and API-key commands: a readable refusal, nothing half-written."""

import json

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from consents.exports import LedgerExport, organization_events
from consents.models import ApiKey
from consents.services import record_consent

pytestmark = pytest.mark.django_db


@pytest.fixture
def ledger(organization):
    for i in range(4):
        record_consent(
            organization=organization,
            identifiers={"email": f"p{i % 2}@example.com"},
            choices={"analytics": i % 2 == 0},
            source="api",
            actor="test",
            notice_version="2026-01",
        )
    return organization


def export_events(organization, *args):
    call_command("export_events", "--org", organization.slug, "--no-progress", *args)


def files_in(directory) -> list[str]:
    return sorted(path.name for path in directory.iterdir())


# export_events: --since and --until


@pytest.mark.parametrize(
    "option, value",
    [
        ("--since", "2026-13-45T00:00"),
        ("--until", "2026-01-01T25:00"),
        ("--since", "2026-01-01T00:00+99:00"),
    ],
    ids=["impossible-date", "impossible-time", "impossible-offset"],
)
def test_export_refuses_an_impossible_date_naming_the_option_and_format(
    tmp_path, ledger, option, value
):
    with pytest.raises(CommandError, match=f"{option} must be an ISO 8601 date-time") as refused:
        export_events(ledger, option, value, "--output", str(tmp_path / "x.ndjson"))
    assert "2026-01-31T09:00" in str(refused.value)
    assert files_in(tmp_path) == []


@pytest.mark.parametrize("value", ["0001-01-01T00:00+05:00", "9999-12-31T23:59-05:00"])
def test_export_refuses_a_date_that_has_no_utc_equivalent(tmp_path, ledger, value):
    with pytest.raises(CommandError, match="--since .* out of range"):
        export_events(ledger, "--since", value, "--output", str(tmp_path / "x.ndjson"))
    assert files_in(tmp_path) == []


def test_export_accepts_a_date_at_the_edge_of_the_utc_range(tmp_path, ledger):
    export_events(ledger, "--since", "0001-01-01T00:00", "--output", str(tmp_path / "x.ndjson"))
    assert len((tmp_path / "x.ndjson").read_text().splitlines()) == 4


# export_events: --output


def test_export_refuses_a_directory_as_output_and_writes_nothing(tmp_path, ledger):
    target = tmp_path / "exports"
    target.mkdir()
    with pytest.raises(CommandError, match="is a directory"):
        export_events(ledger, "--output", str(target))
    assert files_in(tmp_path) == ["exports"] and files_in(target) == []


def test_export_refuses_an_output_without_a_file_name(ledger):
    with pytest.raises(CommandError, match="names no file"):
        export_events(ledger, "--output", "/")


def test_export_refuses_an_output_in_a_missing_directory(tmp_path, ledger):
    with pytest.raises(CommandError, match="no directory"):
        export_events(ledger, "--output", str(tmp_path / "missing" / "x.ndjson"))
    assert files_in(tmp_path) == []


def test_export_refuses_when_the_manifest_path_is_a_directory(tmp_path, ledger):
    (tmp_path / "x.ndjson.manifest.json").mkdir()
    with pytest.raises(CommandError, match="is a directory"):
        export_events(ledger, "--output", str(tmp_path / "x.ndjson"))
    assert files_in(tmp_path) == ["x.ndjson.manifest.json"]


def test_export_leaves_no_partial_file_when_the_final_rename_fails(tmp_path, ledger, monkeypatch):
    def refuse(source, target):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr("consents.management.commands.export_events.os.replace", refuse)
    with pytest.raises(CommandError, match="Cannot write .*Permission denied"):
        export_events(ledger, "--output", str(tmp_path / "x.ndjson"))
    assert files_in(tmp_path) == []


# verify_events: unreadable manifests and exports


def export_with_trailer(tmp_path, organization, fmt="ndjson"):
    """An export as the API serves it: the manifest on its last line, no sidecar."""
    export = LedgerExport(
        organization=organization,
        events=organization_events(organization),
        filters={},
        format=fmt,
    )
    path = tmp_path / f"api.{fmt}"
    path.write_bytes(b"".join(export.chunks_with_trailer()))
    return path


def export_with_sidecar(tmp_path, organization, fmt="ndjson"):
    path = tmp_path / f"ledger.{fmt}"
    export_events(organization, "--format", fmt, "--output", str(path))
    return path


def sidecar_of(path):
    return path.with_name(path.name + ".manifest.json")


def rewrite_sidecar(path, change):
    manifest = json.loads(sidecar_of(path).read_text())
    change(manifest)
    sidecar_of(path).write_text(json.dumps(manifest))


def replace_line(path, index, line: bytes):
    lines = path.read_bytes().splitlines(keepends=True)
    lines[index] = line
    path.write_bytes(b"".join(lines))


def assert_verify_fails(path, report_start):
    with pytest.raises(CommandError) as failed:
        call_command("verify_events", str(path))
    assert failed.value.returncode == 1
    assert str(failed.value).startswith(f"FAILED: {report_start}")


@pytest.mark.parametrize("fmt", ["ndjson", "csv"])
def test_verify_reports_a_truncated_trailing_manifest(tmp_path, ledger, fmt):
    path = export_with_trailer(tmp_path, ledger, fmt)
    path.write_bytes(path.read_bytes()[:-40])
    assert_verify_fails(path, "unreadable manifest")


def test_verify_reports_a_trailing_manifest_that_is_not_an_object(tmp_path, ledger):
    path = export_with_trailer(tmp_path, ledger)
    replace_line(path, -1, b'{"manifest": 5}\n')
    assert_verify_fails(path, "unreadable manifest")


@pytest.mark.parametrize(
    "sidecar",
    [b"{broken", b"[]", b'{"rows": "\xff\xfe"}'],
    ids=["not-json", "not-an-object", "not-utf-8"],
)
def test_verify_reports_an_unreadable_sidecar_manifest(tmp_path, ledger, sidecar):
    path = export_with_sidecar(tmp_path, ledger)
    sidecar_of(path).write_bytes(sidecar)
    assert_verify_fails(path, "unreadable manifest")


@pytest.mark.parametrize(
    "field, value",
    [
        ("chain_anchors", {"x": 5}),
        ("chain_anchors", [1]),
        ("rows", "x"),
        ("rows", True),
        ("sha256", None),
        ("format", "xml"),
    ],
)
def test_verify_reports_a_manifest_field_of_the_wrong_shape(tmp_path, ledger, field, value):
    path = export_with_sidecar(tmp_path, ledger)
    rewrite_sidecar(path, lambda manifest: manifest.update({field: value}))
    assert_verify_fails(path, f"unreadable manifest in ledger.ndjson.manifest.json: {field}")


def test_verify_reports_a_data_line_nested_too_deep(tmp_path, ledger):
    path = export_with_sidecar(tmp_path, ledger)
    replace_line(path, 1, b"[" * 100_000 + b"\n")
    assert_verify_fails(path, "unreadable export")


def test_verify_reports_a_csv_field_over_the_field_limit(tmp_path, ledger):
    path = export_with_sidecar(tmp_path, ledger, "csv")
    replace_line(path, 1, b'"' + b"x" * 140_000 + b'"\n')
    assert_verify_fails(path, "unreadable export")


# create_api_key


def test_create_api_key_refuses_a_name_longer_than_its_column(organization):
    too_long = "k" * (ApiKey._meta.get_field("name").max_length + 1)
    with pytest.raises(CommandError, match="--name"):
        call_command(
            "create_api_key", "--org", "acme", "--name", too_long, "--scopes", "consents:write"
        )
    assert not ApiKey.objects.exists()


def test_create_api_key_accepts_a_name_as_long_as_its_column(organization):
    longest = "k" * ApiKey._meta.get_field("name").max_length
    call_command("create_api_key", "--org", "acme", "--name", longest, "--scopes", "consents:write")
    assert ApiKey.objects.get().name == longest


def test_verify_reads_a_trailing_manifest_of_many_megabytes(tmp_path, ledger):
    """Retention leaves an anchor per trimmed chain in the manifest: tens of thousands of
    chains make its line megabytes long, and the verifier must still find it."""
    from consents.models import DataSubject

    DataSubject.objects.bulk_create(
        DataSubject(organization=ledger, chain_anchor_seq=3, chain_anchor_hash="ab" * 32)
        for _ in range(30_000)
    )
    path = export_with_trailer(tmp_path, ledger)
    assert len(path.read_bytes().rsplit(b"\n", 2)[-2]) > 3 * (1 << 20)
    call_command("verify_events", str(path))


@pytest.mark.parametrize("key", ["", "xyz", "ab" * 31, "ab" * 33, "zz" * 32])
def test_verify_refuses_a_public_key_that_is_not_one(tmp_path, ledger, key):
    path = export_with_sidecar(tmp_path, ledger)
    with pytest.raises(CommandError, match="--public-key must be the 64 hexadecimal digits"):
        call_command("verify_events", str(path), "--public-key", key)
