"""The log: masked, ordered chunks, whatever bytes Terraform prints."""

import threading
import time

import pytest

from runner.logstream import LogStreamer, Masker


class Bucket:
    """Collects what the streamer puts; fails the first ``failures`` puts."""

    def __init__(self, failures: int = 0) -> None:
        self.objects: dict[str, bytes] = {}
        self.puts: list[str] = []
        self.failures = failures
        self.put_once = threading.Event()

    def put(self, key: str, body: bytes) -> None:
        if self.failures:
            self.failures -= 1
            raise ConnectionError("S3 is away")
        self.objects[key] = body
        self.puts.append(key)
        self.put_once.set()

    def log(self) -> bytes:
        data = b""
        for key in sorted(k for k in self.objects if not k.endswith("/complete")):
            assert int(key.rsplit("/", 1)[1]) == len(data)  # each chunk starts where one ended
            data += self.objects[key]
        return data


def streamer(bucket: Bucket, *secrets: str, flush_seconds: float = 60) -> LogStreamer:
    masker = Masker()
    masker.add(secrets)
    return LogStreamer(bucket.put, "runs/r/logs/plan/", masker, flush_seconds=flush_seconds)


def test_sensitive_values_are_masked_longest_first() -> None:
    bucket = Bucket()
    log = streamer(bucket, "pass-word", "password1", "pass", "")

    logged = log.write(b"user password1 and pass-word and pass\n")
    log.complete()

    assert logged == "user *** and *** and ***"
    assert bucket.log() == b"user *** and *** and ***\n"


def masked(secrets: list[str], *lines: str) -> list[str]:
    masker = Masker()
    masker.add(secrets)
    return [masker.mask(line) for line in lines]


def test_a_long_value_is_masked_anywhere_a_short_one_only_as_a_word() -> None:
    assert masked(["s3cr3t-value"], "xs3cr3t-valuex") == ["x***x"]
    assert masked(["pass"], "pass", "p=pass;", "passport", "my_pass", "pass2") == [
        "***",
        "p=***;",
        "passport",
        "my_pass",
        "pass2",
    ]


def test_a_value_under_four_characters_is_never_masked() -> None:
    assert masked(["ab", "xyz", "1"], "abcdef", "ab xyz 1", '"ab"') == [
        "abcdef",
        "ab xyz 1",
        '"ab"',
    ]


SECRET = 'pa"ss\\w<o>rd&é'  # a quote, a backslash, HTML's characters, non-ASCII


def test_json_escaped_forms_are_masked() -> None:
    assert masked(
        [SECRET],
        SECRET,
        '"password": "pa\\"ss\\\\w<o>rd&é"',  # JSON, and Terraform's quoted strings
        '{"password":"pa\\"ss\\\\w\\u003co\\u003erd\\u0026é"}',  # Go's encoding/json
        '{"password": "pa\\"ss\\\\w<o>rd&\\u00e9"}',  # Python's json.dumps
    ) == ["***", '"password": "***"', '{"password":"***"}', '{"password": "***"}']


def test_a_value_inside_a_list_or_a_map_is_masked() -> None:
    assert masked(
        ["list-secret-1", "map-secret-2"],
        '  + input = ["list-secret-1", "open"]',
        '      + token = "map-secret-2"',
        '{"tokens":["list-secret-1"],"map":{"k":"map-secret-2"}}',
    ) == [
        '  + input = ["***", "open"]',
        '      + token = "***"',
        '{"tokens":["***"],"map":{"k":"***"}}',
    ]


MULTI_LINE = (
    "-----BEGIN KEY-----\nMIIEvQIBADANBgkqhkiG9w0\n  indented line\nab\n-----END KEY-----\n"
)


def test_each_line_of_a_multi_line_value_is_masked_also_in_a_heredoc() -> None:
    heredoc = [
        "      + input  = <<-EOT",
        "            -----BEGIN KEY-----",
        "            MIIEvQIBADANBgkqhkiG9w0",
        "              indented line",
        "            ab",
        "            -----END KEY-----",
        "        EOT",
    ]

    assert masked([MULTI_LINE], *heredoc) == [
        "      + input  = <<-EOT",
        "            ***",
        "            ***",
        "              ***",
        "            ab",  # too short to be masked by itself
        "            ***",
        "        EOT",
    ]
    assert masked([MULTI_LINE], MULTI_LINE) == ["***"]  # whole, e.g. in a traceback
    escaped = '"-----BEGIN KEY-----\\nMIIEvQIBADANBgkqhkiG9w0\\n  indented line\\nab\\n'
    assert masked([MULTI_LINE], escaped + '-----END KEY-----\\n"') == ['"***"']


def test_a_value_with_a_trailing_newline_is_masked_on_its_line() -> None:
    assert masked(["file-content-secret\n"], "file-content-secret") == ["***"]


def test_odd_bytes_never_stop_the_stream() -> None:
    bucket = Bucket()
    log = streamer(bucket, "s3cret")

    log.write(b"\xff\xfe not utf-8 s3cret\r\n")
    log.write(b"")
    log.write("x" * 100_000)
    log.write("after")
    log.complete()

    lines = bucket.log().decode().split("\n")
    assert lines[0] == "\ufffd\ufffd not utf-8 ***"
    assert lines[1:] == ["", "x" * 100_000, "after", ""]


def test_chunks_follow_each_other_and_the_log_is_marked_complete() -> None:
    bucket = Bucket()
    log = streamer(bucket)

    for number in range(3):
        log.write(f"line {number}")
        log.flush()
    log.complete()

    assert sorted(bucket.objects) == [
        "runs/r/logs/plan/000000000000",
        "runs/r/logs/plan/000000000007",
        "runs/r/logs/plan/000000000014",
        "runs/r/logs/plan/complete",
    ]
    assert bucket.log() == b"line 0\nline 1\nline 2\n"


def test_a_phase_shorter_than_the_flush_interval_uploads_its_log_once_at_the_end() -> None:
    bucket = Bucket()
    log = streamer(bucket, flush_seconds=60)

    for number in range(1000):
        log.write(f"line {number}")
    assert bucket.puts == []
    log.complete()

    assert bucket.puts == ["runs/r/logs/plan/000000000000", "runs/r/logs/plan/complete"]
    assert bucket.log().count(b"\n") == 1000


def test_output_is_flushed_while_the_command_is_quiet() -> None:
    bucket = Bucket()
    log = streamer(bucket, flush_seconds=0.05)

    log.write("Still creating...")

    assert bucket.put_once.wait(5)
    assert bucket.log() == b"Still creating...\n"
    log.complete()


def test_a_failed_flush_keeps_its_lines_for_the_next() -> None:
    bucket = Bucket(failures=1)
    log = streamer(bucket)
    log.write("first")

    with pytest.raises(ConnectionError):
        log.flush()
    log.write("second")
    log.complete()

    assert bucket.log() == b"first\nsecond\n"


def test_the_background_flush_survives_a_failure() -> None:
    bucket = Bucket(failures=1)
    log = streamer(bucket, flush_seconds=0.05)

    log.write("kept")
    deadline = time.monotonic() + 5
    while not bucket.objects and time.monotonic() < deadline:
        time.sleep(0.05)
    log.complete()

    assert bucket.log() == b"kept\n"
