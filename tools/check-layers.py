#!/usr/bin/env python3
"""Checks the folder structure README.md ("Architecture") describes, from the sources themselves.

Every source folder with a `deepclean_library(<name> ...)` call is a library. For each one:
  * every `#include "<folder>/..."` of its .cpp/.hpp files names its own folder or a library it
    links (PUBLIC or PRIVATE in its CMakeLists.txt, or PUBLIC through those: what CMake gives it);
  * every .cpp file of the folder is listed in its CMakeLists.txt, and every listed file exists;
  * no header outside core/model includes LibTorch, and core/model's public headers (those other
    folders include) do not either;
  * the libraries' dependency graph has no cycle.
Prints one line per problem and exits 1 if there is any; ctest runs it as `layers`.

    tools/check-layers.py [REPO]
"""
import pathlib
import re
import sys

repo = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else pathlib.Path(__file__).resolve().parent.parent)
SKIP = {"build", "tests", "bench", "fuzz", "tools", "debian", "docs", "demo", "systemd", "cmake"}

call = re.compile(r"deepclean_library\((.*?)\)\s*$", re.S | re.M)
libs = {}  # name -> {dir, sources, public, private}
for cm in sorted(repo.rglob("CMakeLists.txt")):
    rel = cm.parent.relative_to(repo)
    if rel.parts and (rel.parts[0] in SKIP or rel.parts[0].startswith("build")):
        continue
    text = re.sub(r"#[^\n]*", "", cm.read_text())
    for m in call.finditer(text):
        words = m.group(1).split()
        name, section = words[0], None
        entry = {"dir": rel.as_posix(), "sources": [], "PUBLIC": [], "PRIVATE": []}
        for w in words[1:]:
            if w in ("SOURCES", "PUBLIC", "PRIVATE"):
                section = w
            elif section == "SOURCES":
                entry["sources"].append(w)
            elif section and w.startswith("deepclean::"):
                entry[section].append(w.split("::", 1)[1])
        # list(APPEND _sources x.cpp) / set(_sources ...) patterns: the files named in the file.
        if any(s.startswith("${") for s in entry["sources"]):
            entry["sources"] = re.findall(r"\b([a-z_0-9]+\.cpp)\b", text)
        libs[name] = entry

problems = []
by_dir = {e["dir"]: n for n, e in libs.items()}


def reachable(name):
    """What CMake lets `name` see: its direct dependencies, and the PUBLIC ones of those, transitively."""
    seen, todo = set(), list(libs[name]["PUBLIC"] + libs[name]["PRIVATE"])
    while todo:
        d = todo.pop()
        if d in seen or d not in libs:
            continue
        seen.add(d)
        todo.extend(libs[d]["PUBLIC"])
    return seen


include = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)
torch_include = re.compile(r"^\s*#\s*include\s+<(torch|ATen|c10)/", re.M)
for name, e in sorted(libs.items()):
    folder = repo / e["dir"]
    allowed = reachable(name)
    files = sorted(folder.glob("*.cpp")) + sorted(folder.glob("*.hpp"))
    for f in files:
        text = f.read_text()
        for inc in include.findall(text):
            target_dir = str(pathlib.PurePosixPath(inc).parent)
            if target_dir in ("deepclean", e["dir"]):
                continue
            dep = by_dir.get(target_dir)
            if dep is None:
                problems.append(f"{f.relative_to(repo)}: includes {inc}, which is in no library folder")
            elif dep not in allowed:
                problems.append(f"{f.relative_to(repo)}: includes {inc} but {e['dir']}/CMakeLists.txt does not "
                                f"link deepclean::{dep}")
        if f.suffix == ".hpp" and torch_include.search(text) and e["dir"] != "core/model":
            problems.append(f"{f.relative_to(repo)}: a header outside core/model includes LibTorch")
    listed = set(e["sources"])
    present = {f.name for f in folder.glob("*.cpp")} - ({"main.cpp"} if e["dir"] == "daemon" else set())
    for missing in sorted(present - listed):
        problems.append(f"{e['dir']}/{missing}: not listed in {e['dir']}/CMakeLists.txt")
    for gone in sorted(listed - present):
        problems.append(f"{e['dir']}/CMakeLists.txt: lists {gone}, which does not exist")

# core/model's headers that other folders include must be torch-free.
for f in sorted(repo.rglob("*.[ch]pp")):
    rel = f.relative_to(repo)
    if rel.parts[0] in ("build",) or rel.parts[0].startswith("build") or rel.as_posix().startswith("core/model/"):
        continue
    for inc in include.findall(f.read_text(errors="replace")):
        if inc.startswith("core/model/"):
            h = repo / inc
            if h.exists() and torch_include.search(h.read_text()):
                problems.append(f"{rel}: includes {inc}, which includes LibTorch (internal to core/model)")

# No cycle among the libraries.
state = {}


def visit(n, path):
    state[n] = 1
    for d in libs[n]["PUBLIC"] + libs[n]["PRIVATE"]:
        if d not in libs:
            continue
        if state.get(d) == 1:
            problems.append("dependency cycle: " + " -> ".join(path + [n, d]))
        elif d not in state:
            visit(d, path + [n])
    state[n] = 2


for n in sorted(libs):
    if n not in state:
        visit(n, [])

for p in problems:
    print(p)
print(f"{len(libs)} libraries, {len(problems)} problem(s)")
sys.exit(1 if problems else 0)
