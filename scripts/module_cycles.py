#!/usr/bin/env python3
"""Fails when modules of the crate import each other in a circle.

Run from the project root: `python3 scripts/module_cycles.py [--graph]`.
CONTRIBUTING.md ("The layout and its one direction of imports") says what it
checks and why; in short:

1. Every file under `src/` is a module (`a/mod.rs` and `a.rs` are `a`).
2. Its code (comments, doc comments and `#[cfg(test)]` modules left out)
   names other modules through `crate::`, `super::`, `self::` paths, `use`
   groups, and its own child modules' names. A name that a module re-exports
   (`pub use`, `pub(crate) use`) is followed to the module that defines it.
3. A module may use the modules that contain it (a file may take what its
   folders' `mod.rs` share): those edges are left out.
4. The machine (`system/`) may name the public face it runs: the traits a
   user implements, which it calls, and the handles it gives his code
   (`PUBLIC_FACE` below). The face is made of the machine's calls, so these
   edges would close a circle through every file; they are left out. So
   are those between the face's own files: a trait and its handle name each
   other (`Actor::activate` takes an `ActorAssistant<Self>`, which exists
   for an `A: Actor`), so the face is one layer, read as a whole. The
   vocabulary both share (errors, statistics, timers, `padded`) and
   `runtime` are not part of the face: their edges count.
5. Two checks then run on what is left:
   - between files: no module reaches itself again;
   - between folders: inside every folder, its entries (files and
     subfolders, each with everything under it) form no circle either.

`--graph` prints the edges that count, one per line.
"""

import os
import re
import sys

SRC = "src"
# The public face: the traits a user implements and the handles he is given.
# `system` runs the one and hands out the other (point 4 above).
PUBLIC_FACE = {
    ("acteur",),
    ("actor",),
    ("actor_assistant",),
    ("builder",),
    ("persistent_actor",),
    ("persistent_assistant",),
    # The cluster's seam: a trait the cluster crate implements (`Router`),
    # which the machine calls, and the calls it makes into the machine.
    ("routing",),
    ("service",),
    ("service_assistant",),
}


def module_of(path):
    """`src/a/b.rs` -> ('a', 'b'); `src/a/mod.rs` and `src/lib.rs` -> the folder."""
    rel = os.path.relpath(path, SRC)[: -len(".rs")].split(os.sep)
    if rel[-1] in ("mod", "lib"):
        rel = rel[:-1]
    return tuple(rel)


def strip(text):
    """The code only: no comments, no strings' contents, no test modules."""
    text = re.sub(r"/\*.*?\*/", " ", text, flags=re.S)
    text = re.sub(r"//[^\n]*", " ", text)
    text = re.sub(r'"(?:\\.|[^"\\])*"', '""', text)
    # `#[cfg(test)] mod name { ... }` and `#[cfg(all(test, ...))]`: drop the block.
    out, i = [], 0
    pattern = re.compile(r"#\[cfg\((?:test|all\(test[^\]]*\)|any\(test[^\]]*\))\)\]\s*mod\s+\w+\s*\{")
    while True:
        m = pattern.search(text, i)
        if not m:
            out.append(text[i:])
            break
        out.append(text[i : m.start()])
        depth, j = 1, m.end()
        while depth and j < len(text):
            depth += {"{": 1, "}": -1}.get(text[j], 0)
            j += 1
        i = j
    return "".join(out)


def expand_use(tree):
    """`a::{b, c::{d, e}}` -> ['a::b', 'a::c::d', 'a::c::e']."""
    tree = re.sub(r"\s+", "", tree)
    m = re.match(r"^(.*?)\{(.*)\}$", tree)
    if not m:
        return [re.sub(r"as\w+$", "", tree)] if tree else []
    prefix, inner = m.group(1), m.group(2)
    parts, depth, start = [], 0, 0
    for k, ch in enumerate(inner):
        if ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
        elif ch == "," and depth == 0:
            parts.append(inner[start:k])
            start = k + 1
    parts.append(inner[start:])
    paths = []
    for part in parts:
        for sub in expand_use(part):
            paths.append(prefix + sub if sub != "self" else prefix.rstrip(":"))
    return paths


def main():
    files = {}
    for root, _, names in os.walk(SRC):
        for name in names:
            if name.endswith(".rs"):
                path = os.path.join(root, name)
                with open(path) as f:
                    files[module_of(path)] = strip(f.read())
    modules = set(files)

    # Each module's declared children and its re-exports: name -> full path.
    children, reexports = {}, {}
    for module, code in files.items():
        children[module] = set(re.findall(r"\bmod\s+(\w+)\s*;", code))
        reexports[module] = {}
        for tree in re.findall(r"\bpub(?:\([\w:]+\))?\s+use\s+([^;]+);", code):
            for path in expand_use(tree):
                name = path.split("::")[-1]
                reexports[module][name] = path

    def absolute(module, path):
        """A path as written in `module`, made absolute (a tuple of names)."""
        parts = [p for p in path.split("::") if p]
        if not parts:
            return None
        if parts[0] == "crate":
            return tuple(parts[1:])
        base = list(module)
        while parts and parts[0] in ("self", "super"):
            if parts.pop(0) == "super":
                base.pop()
        if path.startswith(("self", "super")):
            return tuple(base + parts)
        if parts[0] in children[module]:
            return tuple(list(module) + parts)
        return None  # std, a dependency, or a name in scope

    def resolve(path, seen=()):
        """The module that defines what `path` names."""
        for cut in range(len(path), -1, -1):
            head = path[:cut]
            if head in modules:
                rest = path[cut:]
                if rest and rest[0] in reexports[head] and (head, rest[0]) not in seen:
                    target = absolute(head, reexports[head][rest[0]])
                    if target is not None:
                        return resolve(target + rest[1:], seen + ((head, rest[0]),))
                return head
        return None

    edges = set()
    for module, code in files.items():
        paths = []
        for tree in re.findall(r"\buse\s+([^;]+);", code):
            paths += expand_use(tree)
        paths += re.findall(r"(?<![\w:])((?:crate|super|self)(?:::\w+)+)", code)
        for child in children[module]:
            paths += re.findall(r"(?<![\w:])(%s(?:::\w+)+)" % re.escape(child), code)
        for path in paths:
            target = absolute(module, path)
            target = resolve(target) if target is not None else None
            if target is None or target == module:
                continue
            if module[: len(target)] == target:
                continue  # a module may use the folders that contain it
            if target in PUBLIC_FACE and (module[:1] == ("system",) or module in PUBLIC_FACE):
                continue  # the machine runs the public face (see above)
            edges.add((module, target))

    if "--graph" in sys.argv:
        for a, b in sorted(edges):
            print("::".join(a) or "crate", "->", "::".join(b) or "crate")

    failures = []

    def cycles(nodes, links):
        """Every circle among `nodes` (one per strongly connected component)."""
        index, low, stack, on, found, counter = {}, {}, [], set(), [], [0]

        def visit(v):
            index[v] = low[v] = counter[0]
            counter[0] += 1
            stack.append(v)
            on.add(v)
            for a, b in links:
                if a != v:
                    continue
                if b not in index:
                    visit(b)
                    low[v] = min(low[v], low[b])
                elif b in on:
                    low[v] = min(low[v], index[b])
            if low[v] == index[v]:
                component = []
                while True:
                    w = stack.pop()
                    on.discard(w)
                    component.append(w)
                    if w == v:
                        break
                if len(component) > 1:
                    found.append(sorted(component))

        sys.setrecursionlimit(10000)
        for v in sorted(nodes):
            if v not in index:
                visit(v)
        return found

    def name(module):
        return "::".join(module) or "crate"

    for component in cycles(modules, edges):
        failures.append("files: " + ", ".join(name(m) for m in component))

    for folder in sorted(modules):
        entries = {m[len(folder)] for m in modules if len(m) > len(folder) and m[: len(folder)] == folder}
        links = set()
        for a, b in edges:
            if a[: len(folder)] == folder and b[: len(folder)] == folder and len(a) > len(folder) and len(b) > len(folder):
                x, y = a[len(folder)], b[len(folder)]
                if x != y:
                    links.add((x, y))
        for component in cycles(entries, links):
            failures.append("folders in %s: %s" % (name(folder), ", ".join(component)))

    if failures:
        print("import cycles between modules (see CONTRIBUTING.md, 'The layout'):")
        for failure in failures:
            print("  " + failure)
        sys.exit(1)
    print("no import cycles among %d modules (%d edges)" % (len(modules), len(edges)))


if __name__ == "__main__":
    main()
