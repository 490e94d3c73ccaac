"""`manage.py filter_audience`: check before send for a CSV file of any size."""

import csv
import io
import time

import pytest
from django.core.management import CommandError, call_command

from consents.audience import AudienceError, filter_audience
from consents.identifiers import identifier_hash
from consents.services import record_consent
from tests.factories import SuppressionFactory

ROWS = 100_000


def email(i: int) -> str:
    return f"person{i}@example.com"


def malformed_variant(i: int) -> str | None:
    """Every 1,000th row is broken in one of four ways (100 rows in all)."""
    if i % 1000 != 999:
        return None
    return [
        f"Name {i},not-an-address,DE\n",
        f"Name {i},{email(i)}\n",  # a field missing
        f"Name {i},,DE\n",  # empty address
        f"Name {i},{email(i)},DE,extra\n",  # a field too many
    ][(i // 1000) % 4]


@pytest.fixture
def audience_file(tmp_path, organization):
    """100,000 recipients; 300 granted, 300 refused, 10 granted but suppressed, 100 malformed,
    one row spread over two lines (a quoted newline) and one row that is not UTF-8."""
    for i in range(0, 3000, 10):
        record_consent(
            organization=organization,
            identifiers={"email": email(i)},
            choices={"marketing_email": True},
            source="api",
            actor="test",
        )
    for i in range(5, 3000, 10):
        record_consent(
            organization=organization,
            identifiers={"email": email(i)},
            choices={"marketing_email": False},
            source="api",
            actor="test",
        )
    for i in range(0, 100, 10):
        SuppressionFactory(
            organization=organization,
            kind="email",
            purpose_key="",
            value_hash=identifier_hash(organization.identifier_secret, "email", email(i)),
        )
    path = tmp_path / "recipients.csv"
    malformed_lines = []
    line = 1
    with open(path, "wb") as out:
        out.write(b"name,email,country\n")
        for i in range(ROWS):
            if i == 40:
                row = f'"Multi\nline {i}",{email(i)},DE\n'
            elif i == 61:
                row = f"Caf\xe9 {i},{email(i)},DE\n"
            else:
                row = malformed_variant(i) or f"Name {i},{email(i)},DE\n"
            encoded = row.encode("latin-1") if i == 61 else row.encode()
            out.write(encoded)
            line += row.count("\n")
            if i == 61 or malformed_variant(i):
                malformed_lines.append(line)
    return path, malformed_lines


def run(**options):
    out, err = io.StringIO(), io.StringIO()
    call_command("filter_audience", stdout=out, stderr=err, **options)
    return out.getvalue(), err.getvalue()


def test_large_file_keeps_only_allowed_rows_and_counts_every_row(audience_file, tmp_path):
    path, malformed_lines = audience_file
    output = tmp_path / "allowed.csv"
    started = time.perf_counter()
    stdout, stderr = run(org="acme", purpose="marketing_email", input=str(path), output=str(output))
    elapsed = time.perf_counter() - started
    print(f"filter_audience: {ROWS} rows in {elapsed:.2f} s")

    with open(output, newline="") as handle:
        rows = list(csv.reader(handle))
    expected = [email(i) for i in range(0, 3000, 10) if i >= 100]
    assert rows[0] == ["name", "email", "country"]
    assert [row[1] for row in rows[1:]] == expected
    assert len(expected) == 290

    reported = [int(line.split(":")[0].removeprefix("line ")) for line in stderr.splitlines()]
    assert reported == malformed_lines
    assert len(reported) == 101
    assert "not a valid email" in stderr and "expected 3 fields, found 2" in stderr
    assert "empty email" in stderr and "not valid UTF-8" in stderr

    counts = dict(line.split(":", 1) for line in stdout.splitlines() if ":" in line)
    assert counts["rows read"].strip() == str(ROWS)
    assert counts["allowed"].strip() == "290"
    assert counts["malformed"].strip() == "101"
    assert counts["not allowed"].strip() == str(ROWS - 290 - 101)
    by_reason = dict(line.split() for line in stdout.splitlines() if line.startswith("  "))
    assert by_reason == {
        "granted": "290",
        "denied": "300",
        "suppressed": "10",
        "malformed": "101",
        "no_record": str(ROWS - 290 - 300 - 10 - 101),
    }


def test_column_is_found_by_name(tmp_path, organization):
    record_consent(
        organization=organization,
        identifiers={"email": "a@example.com"},
        choices={"marketing_email": True},
        source="api",
        actor="test",
    )
    source = tmp_path / "in.csv"
    source.write_text("id,Mail Address\n1,a@example.com\n2,b@example.com\n", encoding="utf-8")
    output = tmp_path / "out.csv"
    run(
        org="acme",
        purpose="marketing_email",
        input=str(source),
        output=str(output),
        column="mail address",
    )
    assert output.read_bytes() == b"id,Mail Address\r\n1,a@example.com\r\n"


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"org": "nobody"}, "Unknown organization 'nobody'"),
        ({"purpose": "nope"}, "Unknown purpose 'nope'"),
        ({"input": "missing.csv"}, "Cannot read"),
        ({"column": "phone_number"}, "has no column 'phone_number' (its columns: name, email"),
        ({"output": "no/such/dir/out.csv"}, "Cannot write"),
        ({"jurisdiction": "ZZZZZZ"}, "--jurisdiction: Not a jurisdiction"),
    ],
)
def test_errors_are_readable_and_leave_no_output(
    tmp_path, organization, monkeypatch, options, message
):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "in.csv").write_text("name,email\nA,a@example.com\n", encoding="utf-8")
    arguments = {
        "org": "acme",
        "purpose": "marketing_email",
        "input": "in.csv",
        "output": "out.csv",
        **options,
    }
    with pytest.raises(CommandError, match=message.replace("(", r"\(")) as raised:
        run(**arguments)
    assert raised.value.returncode == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.csv"]


def test_empty_input_is_an_error(tmp_path, organization):
    source = tmp_path / "in.csv"
    source.write_text("", encoding="utf-8")
    with pytest.raises(CommandError, match="is empty"):
        run(
            org="acme",
            purpose="marketing_email",
            input=str(source),
            output=str(tmp_path / "out.csv"),
        )
    assert not (tmp_path / "out.csv").exists()


def test_an_interrupted_run_leaves_no_partial_output(tmp_path, organization):
    source = tmp_path / "in.csv"
    lines = ["name,email"] + [f"P{i},p{i}@example.com" for i in range(20)] + ["bad,row,x"]
    source.write_text("\n".join(lines) + "\n", encoding="utf-8")
    output = tmp_path / "out.csv"
    output.write_text("previous run\n")

    def interrupt(line, reason):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        filter_audience(
            organization=organization,
            purpose=organization.purpose_map["marketing_email"],
            input_path=source,
            output_path=output,
            batch_size=5,
            report_malformed=interrupt,
        )
    assert output.read_text() == "previous run\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.csv", "out.csv"]


def test_input_that_is_a_directory_is_an_error(tmp_path, organization):
    with pytest.raises(AudienceError, match="Cannot read"):
        filter_audience(
            organization=organization,
            purpose=organization.purpose_map["marketing_email"],
            input_path=tmp_path,
            output_path=tmp_path / "out.csv",
        )


def test_header_that_is_not_utf8_is_a_readable_error(tmp_path, organization):
    from django.core.management import call_command
    from django.core.management.base import CommandError

    source = tmp_path / "bad.csv"
    source.write_bytes(b"email,n\xffame\nada@example.com,Ada\n")
    with pytest.raises(CommandError, match="not valid UTF-8"):
        call_command(
            "filter_audience",
            "--org",
            organization.slug,
            "--purpose",
            "marketing_email",
            "--input",
            str(source),
            "--output",
            str(tmp_path / "out.csv"),
        )
    assert not (tmp_path / "out.csv").exists()
