"""Shared by the experiment scripts: write one section of docs/RESULTS.md, keeping the others.

A section starts at its "## <title>" line and runs to the next "## " heading (or the end of the file);
an existing section with the same title prefix is replaced in place, a new one is appended.
"""
import os


def write_section(results, marker, section):
    text = open(results).read() if os.path.exists(results) else "# Results\n"
    if marker in text:
        start = text.index(marker)
        nxt = text.find("\n## ", start + 1)
        rest = text[nxt + 1:] if nxt >= 0 else ""
        text = text[:start] + (section.rstrip("\n") + "\n\n" if rest else section) + rest
    else:
        text = text.rstrip("\n") + "\n\n" + section
    with open(results + ".tmp", "w") as f:
        f.write(text)
    os.replace(results + ".tmp", results)  # atomic: an interrupted run leaves the old file
    print(section)
