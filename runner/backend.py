"""Removing ``backend`` and ``cloud`` blocks from ``terraform {}`` blocks: the platform owns
state, so Terraform must use its default local backend (``terraform.tfstate``).

This is a small scanner, not an HCL parser. It skips strings (with ``${...}`` templates),
comments and heredocs when matching braces, and expects a block's header on the same line as
its opening brace, as ``terraform fmt`` writes it. Known limits: ``*.tf.json`` files are not
changed, and a header split across lines (``backend "s3"`` then ``{`` on the next) is not
recognised; Terraform then fails at init with its own error about the backend.
"""

import re
from collections.abc import Iterator
from pathlib import Path

_STATE_BLOCK_HEADER = re.compile(r'backend\s*"[^"\n]*"|cloud')
_HEREDOC = re.compile(r"<<-?([A-Za-z_][A-Za-z0-9_-]*)[ \t]*\n")


def remove_backend_blocks(directory: Path) -> list[str]:
    """Rewrite the directory's ``*.tf`` files without their backend blocks; returns the names
    of the files changed."""
    changed = []
    for path in sorted(directory.glob("*.tf")):
        text = path.read_text(encoding="utf-8", errors="surrogateescape")
        stripped = without_backend_blocks(text)
        if stripped != text:
            path.write_text(stripped, encoding="utf-8", errors="surrogateescape")
            changed.append(path.name)
    return changed


def without_backend_blocks(text: str) -> str:
    """The text with each backend block replaced by as many newlines as it spanned, so the
    line numbers in Terraform's messages still match the user's files."""
    pieces, start = [], 0
    for block_start, block_end in _backend_spans(text):
        pieces += [text[start:block_start], "\n" * text.count("\n", block_start, block_end)]
        start = block_end
    pieces.append(text[start:])
    return "".join(pieces)


def _backend_spans(text: str) -> Iterator[tuple[int, int]]:
    depth = 0
    header_start = 0  # where the code since the last brace or newline begins
    terraform_depth: int | None = None  # depth inside a `terraform {` block
    removing: tuple[int, int] | None = None  # (start, depth) of the block being removed
    for index, char in _code(text):
        if char == "{":
            header = text[header_start:index]
            if depth == 0 and header.strip() == "terraform":
                terraform_depth = 1
            elif (
                removing is None
                and depth == terraform_depth
                and _STATE_BLOCK_HEADER.fullmatch(header.strip())
            ):
                removing = (header_start + len(header) - len(header.lstrip()), depth)
            depth += 1
        elif char == "}":
            depth -= 1
            if removing is not None and depth == removing[1]:
                yield removing[0], index + 1
                removing = None
            if depth == 0:
                terraform_depth = None
        if char in "{}\n":
            header_start = index + 1


def _code(text: str) -> Iterator[tuple[int, str]]:
    """Each character outside strings, comments and heredocs, with its index."""
    index, end = 0, len(text)
    while index < end:
        char = text[index]
        if char == '"':
            index = _after_string(text, index)
        elif char == "#" or text.startswith("//", index):
            newline = text.find("\n", index)
            index = end if newline < 0 else newline
        elif text.startswith("/*", index):
            close = text.find("*/", index + 2)
            index = end if close < 0 else close + 2
        elif heredoc := _HEREDOC.match(text, index):
            index = _after_heredoc(text, heredoc)
        else:
            yield index, char
            index += 1


def _after_string(text: str, index: int) -> int:
    index += 1
    while index < len(text):
        char = text[index]
        if char == "\\":
            index += 2
        elif char in '"\n':  # a newline ends an unterminated string, as HCL does
            return index + 1 if char == '"' else index
        elif text.startswith(("${", "%{"), index):
            index = _after_template(text, index + 2)
        else:
            index += 1
    return index


def _after_template(text: str, index: int) -> int:
    depth = 1
    while index < len(text) and depth:
        char = text[index]
        if char == '"':
            index = _after_string(text, index)
            continue
        depth += {"{": 1, "}": -1}.get(char, 0)
        index += 1
    return index


def _after_heredoc(text: str, heredoc: re.Match[str]) -> int:
    marker = heredoc.group(1)
    index = heredoc.end()
    while index < len(text):
        newline = text.find("\n", index)
        line_end = len(text) if newline < 0 else newline
        if text[index:line_end].strip() == marker:
            return line_end
        index = line_end + 1
    return index
