#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Generate the upstream patch series from the out-of-tree sources, and check it.

    scripts/patches.py generate --src TREE --out DIR
        Writes DIR/0000-cover-letter.patch and one patch per step of SERIES, in
        `git format-patch` form against the pristine tree TREE (the pinned 7.2.13).

    scripts/patches.py verify --src TREE --out DIR
        Applies the patches in DIR in order to a copy of the files of TREE they touch,
        checks that the result holds exactly the files the series generates, and runs
        TREE/scripts/checkpatch.pl --strict on each patch. A warning passes only if it is
        listed, with its reason, in scripts/series/checkpatch-exceptions.

There is no second copy of the code: every file of the series is made from a file of this
repository by the mechanical changes below (paths, the helper prefix, visibility), and every
change to an existing kernel file is an insertion at a named anchor. A change of the sources
that breaks a rule here fails loudly instead of producing a different series.
"""

import argparse
import fnmatch
import os
import re
import shutil
import subprocess
import sys
import tempfile

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SERIES_DIR = os.path.join(TOP, "scripts", "series")
BASE = "v7.2.13"
AUTHOR_NAME = os.environ.get("PATCH_AUTHOR_NAME", "The rvirtio developers")
AUTHOR_EMAIL = os.environ.get("PATCH_AUTHOR_EMAIL", "rvirtio-devel@example.org")
RUSTFMT = os.environ.get("RUSTFMT", "/usr/bin/rustfmt")
# A fixed date, so that the same sources make byte-identical patches.
DATE = "2026-01-01T00:00:00+00:00"


class SeriesError(Exception):
    pass


def read(path):
    with open(os.path.join(TOP, path), encoding="utf-8") as f:
        return f.read()


def sub(text, pattern, repl, count=None, flags=re.M):
    """re.subn that insists on the number of matches (at least one by default)."""
    new, n = re.subn(pattern, repl, text, flags=flags)
    if (count is None and n == 0) or (count is not None and n != count):
        raise SeriesError(f"pattern {pattern!r} matched {n} times")
    return new


# --- Where things go ----------------------------------------------------------------------

# Out-of-tree path -> in-tree path, for every file of the series and for the paths that
# comments and documentation name.
PATHS = {
    "rust/virtio/driver.rs": "rust/kernel/virtio.rs",
    "rust/virtio/virtqueue.rs": "rust/kernel/virtio/virtqueue.rs",
    "rust/virtio/mod.rs": "rust/kernel/virtio/transport/mod.rs",
    "rust/virtio/debugfs.rs": "rust/kernel/virtio/transport/debugfs.rs",
    "rust/virtio/health.rs": "rust/kernel/virtio/transport/health.rs",
    "rust/virtio/poll.rs": "rust/kernel/virtio/transport/poll.rs",
    "rust/virtio/queues.rs": "rust/kernel/virtio/transport/queues.rs",
    "rust/virtio/reset.rs": "rust/kernel/virtio/transport/reset.rs",
    "rust/pci/mod.rs": "rust/kernel/pci/ext/mod.rs",
    "rust/pci/driver.rs": "rust/kernel/pci/ext/driver.rs",
    "rust/pci/region.rs": "rust/kernel/pci/ext/region.rs",
    "rust/net/mod.rs": "rust/kernel/net/device/mod.rs",
    "rust/net/ethtool.rs": "rust/kernel/net/device/ethtool.rs",
    "rust/net/fault.rs": "rust/kernel/net/device/fault.rs",
    "rust/net/napi.rs": "rust/kernel/net/device/napi.rs",
    "rust/net/qstats.rs": "rust/kernel/net/device/qstats.rs",
    "rust/net/skbuff.rs": "rust/kernel/net/device/skbuff.rs",
    "rust/net/virtio_buf.rs": "rust/kernel/net/device/virtio_buf.rs",
    "rust/helpers/helpers.c": "rust/helpers/virtio.c",
    "rust/helpers/net.c": "rust/helpers/netdevice.c",
    "rust/helpers/devlink.c": "rust/helpers/devlink.c",
    "rust/rvirtio_pci.rs": "drivers/virtio/rvirtio_pci/rvirtio_pci.rs",
    "rust/rvirtio_net.rs": "drivers/net/rvirtio_net/rvirtio_net.rs",
    "Documentation/rvirtio-pci.rst": "Documentation/driver-api/virtio/rvirtio-pci.rst",
    "Documentation/rvirtio-reset.rst": "Documentation/driver-api/virtio/rvirtio-reset.rst",
    "Documentation/rvirtio-net.rst": "Documentation/driver-api/virtio/rvirtio-net.rst",
    "selftests/kselftest/rvirtio_pci_recovery.sh":
        "tools/testing/selftests/drivers/virtio/rvirtio/rvirtio_pci_recovery.sh",
}
for _name in ("mod", "caps", "modern", "needs_reset", "recovery", "transport"):
    PATHS[f"rust/rvirtio_pci/{_name}.rs"] = f"drivers/virtio/rvirtio_pci/driver/{_name}.rs"
for _name in ("mod", "ctrl", "ethtool", "fault", "hdr", "rx", "tx"):
    PATHS[f"rust/rvirtio_net/{_name}.rs"] = f"drivers/net/rvirtio_net/driver/{_name}.rs"

# Directory names that comments use.
DIRS = {
    "rust/virtio/": "rust/kernel/virtio/",
    "rust/net/": "rust/kernel/net/device/",
    "rust/pci/": "rust/kernel/pci/ext/",
    "rust/rvirtio_pci/": "drivers/virtio/rvirtio_pci/driver/",
    "rust/rvirtio_net/": "drivers/net/rvirtio_net/driver/",
}


def rewrite_paths(text):
    # Longest first, so that a file's own entry wins over its directory's.
    for old, new in sorted({**PATHS, **DIRS}.items(), key=lambda kv: -len(kv[0])):
        text = re.sub(r"(?<![\w/.-])" + re.escape(old), new, text)
    return text


# --- The mechanical changes ---------------------------------------------------------------

def abstraction(text):
    """An abstraction module becomes part of the kernel crate.

    Out of tree it is compiled into each driver crate, so its API is `pub(crate)`; in the
    kernel crate the same items are the crate's public API. `#[path]` attributes go: the
    in-tree layout is the one rustc expects. The PCI pieces live in `kernel::pci::ext`.
    """
    text = re.sub(r"\bpub\(crate\)", "pub", text)
    text = re.sub(r'^\s*#\[path = "[^"]*"\]\n', "", text, flags=re.M)
    text = re.sub(r"\bcrate::pci_ext\b", "crate::pci::ext", text)
    return rewrite_paths(text)


def virtio_root(text):
    """`kernel::virtio`: the driver side, with the transport side as a submodule."""
    text = abstraction(text)
    return sub(
        text,
        r"^(pub mod virtqueue;\n)",
        "#[cfg(all(CONFIG_PCI, CONFIG_NET_DEVLINK, CONFIG_DEBUG_FS))]\npub mod transport;\n\\1",
        count=1,
    )


def c_helpers(text):
    """A C helper file joins the kernel's rust/helpers: the kernel's prefix and annotation.

    The continuation lines of a changed signature are aligned again with its parenthesis.
    """
    out = []
    shift = None
    for line in text.splitlines(keepends=True):
        m = re.match(r"^(\S[^;{]*?)\brvirtio_helper_(\w+\(.*)$", line, re.S)
        if m and not line.startswith((" ", "\t", "/", "*", "#")):
            new = f"__rust_helper {m.group(1)}rust_helper_{m.group(2)}"
            ends = line.rstrip().endswith(("{", ")"))
            if not ends or len(expand(new.rstrip("\n"))) > 100:
                # As the kernel's helpers do: the return type on a line of its own.
                out.append(f"__rust_helper {m.group(1).rstrip()}\n")
                new = f"rust_helper_{m.group(2)}"
            shift = None if ends else expand(new).index("(") - expand(line).index("(")
            out.append(new)
            continue
        if shift is not None and line[:1] in (" ", "\t"):
            body = line.lstrip(" \t")
            col = len(expand(line)) - len(expand(body)) + shift
            out.append("\t" * (col // 8) + " " * (col % 8) + body)
            if line.rstrip().endswith(("{", ")")):
                shift = None
            continue
        shift = None
        out.append(line)
    text = "".join(out)
    # What is left names helpers in comments.
    return rewrite_paths(text.replace("rvirtio_helper_", "rust_helper_"))


def expand(line):
    return line.expandtabs(8)


def guarded(condition, change):
    """A C helper file whose functions exist only under `condition`.

    The kernel crate is built in: a helper may only call into code that is built in too (the
    virtio core is a module when CONFIG_VIRTIO=m), as the Rust modules using them are.
    """

    def wrap(text):
        text = change(text)
        m = re.match(r"\A(// SPDX[^\n]*\n(?:/\*.*?\*/\n)?)", text, re.S)
        if not m:
            raise SeriesError("no SPDX line and header comment")
        return f"{m.group(1)}\n#if {condition}\n\n{text[m.end():].lstrip()}\n#endif\n"

    return wrap


def helpers_header(text):
    """The header comment of rust/helpers/helpers.c describes the out-of-tree build."""
    text = sub(
        text,
        r"\A// SPDX-License-Identifier: GPL-2.0\n/\*.*?\*/\n",
        "// SPDX-License-Identifier: GPL-2.0\n"
        "/*\n"
        " * Helpers of the virtio transport abstractions (rust/kernel/virtio/transport/) and\n"
        " * of the PCI pieces they use (rust/kernel/pci/ext/).\n"
        " */\n",
        count=1,
        flags=re.S,
    )
    return c_helpers(text)


def crate_root(uses):
    """A driver's crate root: the abstractions come from the kernel crate.

    Out of tree the crate root compiles the abstraction modules into the crate
    (`#[path = ...] mod virtio;`). In tree those lines become `use` declarations of the same
    names, so that the driver modules, which name them `crate::virtio` and so on, are the
    same files. A name mapped to None is dropped: the driver does not use it.
    """

    def change(text):
        for name in uses:
            text = sub(text, r'^#\[path = "[^"]*"\]\nmod ' + name + r";\n", "", count=1)
        use = "use kernel::{" + ", ".join(v for v in uses.values() if v) + "};\n"
        text = sub(text, r"^(// The driver proper is safe Rust)", use + "\n\\1", count=1)
        text = sub(text, r"the abstraction modules above", "the kernel crate", count=1)
        text = sub(text, r'^#\[path = "[^"]*"\]\n(mod driver;)', r"\1", count=1)
        return rewrite_paths(text)

    return change


# --- Insertions into existing kernel files ------------------------------------------------

def insert(anchor, lines, after):
    """Inserts `lines` (see `fragment`) before or after `anchor`, which must occur once."""

    def change(text):
        if text.count(anchor) != 1:
            raise SeriesError(f"anchor {anchor!r} found {text.count(anchor)} times")
        new = fragment(lines)
        return text.replace(anchor, anchor + new if after else new + anchor)

    return change


def insert_before(anchor, lines):
    return insert(anchor, lines, after=False)


def insert_after(anchor, lines):
    return insert(anchor, lines, after=True)


def maintainers_entry(files):
    """The MAINTAINERS entry, with the files added so far (each patch adds its own)."""
    return (
        "VIRTIO PCI TRANSPORT AND NET DRIVER IN RUST (RVIRTIO)\n"
        f"M:\t{AUTHOR_NAME} <{AUTHOR_EMAIL}>\n"
        "L:\tvirtualization@lists.linux.dev\n"
        "L:\trust-for-linux@vger.kernel.org\n"
        "S:\tMaintained\n" + "".join(f"F:\t{f}\n" for f in sorted(files)) + "\n"
    )


MAINTAINERS_ANCHOR = "VIRTIO PMEM DRIVER\n"


def add_includes(source):
    """The headers of our bindings_helper.h that the kernel's does not include yet, each
    inserted in the kernel's alphabetical list of <linux/...> headers."""

    def change(text):
        ours = re.findall(r"^#include <(?:uapi/)?(linux/[^>]+|net/[^>]+)>$", read(source), re.M)
        blocks = list(re.finditer(r"(^#include <linux/[^>]+>\n)+", text, re.M))
        block = max(blocks, key=lambda m: len(m.group(0)), default=None)
        if not block:
            raise SeriesError("no list of <linux/...> includes")
        have = re.findall(r"^#include <([^>]+)>$", text, re.M)
        lines = block.group(0).splitlines(keepends=True)
        for header in sorted(set(ours) - set(have)):
            lines.append(f"#include <{header}>\n")
        lines.sort()
        return text[:block.start()] + "".join(lines) + text[block.end():]

    return change


# --- The series ---------------------------------------------------------------------------
#
# Each step: the message file in scripts/series/, the new files (in-tree path -> (source,
# change)), the edits of existing kernel files (path -> change), and the MAINTAINERS file
# patterns it adds.

def files(*sources, change):
    return {PATHS[s]: (s, change) for s in sources}


SERIES = [
    {
        "msg": "01-rust-helpers.txt",
        "new": {
            **files("rust/helpers/helpers.c",
                    change=guarded("IS_BUILTIN(CONFIG_VIRTIO) && defined(CONFIG_PCI)",
                                   helpers_header)),
            **files("rust/helpers/net.c",
                    change=guarded("IS_BUILTIN(CONFIG_VIRTIO) && defined(CONFIG_NET)", c_helpers)),
            **files("rust/helpers/devlink.c", change=guarded("defined(CONFIG_NET_DEVLINK)",
                                                             c_helpers)),
        },
        "edit": {
            "rust/helpers/helpers.c": [
                insert_after('#include "cred.c"\n', '#include "devlink.c"\n'),
                insert_after('#include "mutex.c"\n', '#include "netdevice.c"\n'),
                insert_after('#include "vmalloc.c"\n', '#include "virtio.c"\n'),
            ],
            "rust/bindings/bindings_helper.h": [add_includes("rust/bindings/bindings_helper.h")],
        },
        "maintainers": [
            "rust/helpers/devlink.c",
            "rust/helpers/netdevice.c",
            "rust/helpers/virtio.c",
        ],
    },
    {
        "msg": "02-rust-pci.txt",
        "new": files("rust/pci/mod.rs", "rust/pci/driver.rs", "rust/pci/region.rs",
                     change=abstraction),
        "edit": {
            "rust/kernel/pci.rs": [insert_after("mod id;\n", "pub mod ext;\n")],
        },
        "maintainers": ["rust/kernel/pci/ext/"],
    },
    {
        "msg": "03-rust-virtio.txt",
        "new": {
            **files("rust/virtio/driver.rs", change=virtio_root),
            **files("rust/virtio/virtqueue.rs", "rust/virtio/mod.rs", "rust/virtio/debugfs.rs",
                    "rust/virtio/health.rs", "rust/virtio/poll.rs", "rust/virtio/queues.rs",
                    "rust/virtio/reset.rs", change=abstraction),
        },
        "edit": {
            "rust/kernel/lib.rs": [
                insert_before("pub mod workqueue;\n",
                              '#[cfg(CONFIG_VIRTIO = "y")]\npub mod virtio;\n'),
            ],
        },
        "maintainers": ["rust/kernel/virtio.rs", "rust/kernel/virtio/"],
    },
    {
        "msg": "04-rust-net.txt",
        "new": files("rust/net/mod.rs", "rust/net/ethtool.rs", "rust/net/fault.rs",
                     "rust/net/napi.rs", "rust/net/qstats.rs", "rust/net/skbuff.rs", "rust/net/virtio_buf.rs",
                     change=abstraction),
        "edit": {
            "rust/kernel/net.rs": [
                insert_before("#[cfg(CONFIG_RUST_PHYLIB_ABSTRACTIONS)]\n",
                              '#[cfg(CONFIG_VIRTIO = "y")]\npub mod device;\n'),
            ],
        },
        "maintainers": ["rust/kernel/net/device/"],
    },
    {
        "msg": "05-rvirtio-pci.txt",
        "new": {
            **files("rust/rvirtio_pci.rs", change=crate_root({
                "bindings": "bindings",
                "pci_ext": "pci::ext as pci_ext",
                "virtio": "virtio::transport as virtio",
            })),
            **{PATHS[s]: (s, rewrite_paths) for s in PATHS if s.startswith("rust/rvirtio_pci/")},
            "drivers/virtio/rvirtio_pci/Makefile": (None, "rvirtio-pci.Makefile"),
        },
        "edit": {
            "drivers/virtio/Kconfig": [insert_before("config VIRTIO_VDPA\n",
                                                     "@rvirtio-pci.Kconfig")],
            "drivers/virtio/Makefile": [insert_after(
                "obj-$(CONFIG_VIRTIO_PCI) += virtio_pci.o\n",
                "obj-$(CONFIG_RVIRTIO_PCI) += rvirtio_pci/\n")],
        },
        "maintainers": ["drivers/virtio/rvirtio_pci/"],
    },
    {
        "msg": "06-rvirtio-net.txt",
        "new": {
            **files("rust/rvirtio_net.rs", change=crate_root({
                "bindings": None,
                "net": "net::device as net",
                "virtio": "virtio",
            })),
            **{PATHS[s]: (s, rewrite_paths) for s in PATHS if s.startswith("rust/rvirtio_net/")},
            "drivers/net/rvirtio_net/Makefile": (None, "rvirtio-net.Makefile"),
        },
        "edit": {
            "drivers/net/Kconfig": [insert_before("config NLMON\n", "@rvirtio-net.Kconfig")],
            "drivers/net/Makefile": [insert_after(
                "obj-$(CONFIG_VIRTIO_NET) += virtio_net.o\n",
                "obj-$(CONFIG_RVIRTIO_NET) += rvirtio_net/\n")],
        },
        "maintainers": ["drivers/net/rvirtio_net/"],
    },
    {
        "msg": "07-documentation.txt",
        "new": files("Documentation/rvirtio-pci.rst", "Documentation/rvirtio-reset.rst",
                     "Documentation/rvirtio-net.rst", change=rewrite_paths),
        "edit": {
            "Documentation/driver-api/virtio/index.rst": [insert_after(
                "   writing_virtio_drivers\n",
                "   rvirtio-pci\n   rvirtio-reset\n   rvirtio-net\n")],
        },
        "maintainers": ["Documentation/driver-api/virtio/rvirtio-*.rst"],
    },
    {
        "msg": "08-selftests.txt",
        "new": {
            **files("selftests/kselftest/rvirtio_pci_recovery.sh", change=lambda t: t),
            "tools/testing/selftests/drivers/virtio/rvirtio/Makefile":
                (None, "rvirtio-selftests.Makefile"),
            "tools/testing/selftests/drivers/virtio/rvirtio/config":
                (None, "rvirtio-selftests.config"),
        },
        "edit": {
            "tools/testing/selftests/Makefile": [insert_after(
                "TARGETS += drivers/net/virtio_net\n",
                "TARGETS += drivers/virtio/rvirtio\n")],
        },
        "maintainers": ["tools/testing/selftests/drivers/virtio/rvirtio/"],
    },
]


def series_text(name):
    with open(os.path.join(SERIES_DIR, name), encoding="utf-8") as f:
        return f.read()


def fragment(value):
    """An insertion is either literal text or, with a leading @, a file of scripts/series/."""
    return series_text(value[1:]) if value.startswith("@") else value


# --- Generation ---------------------------------------------------------------------------

def git_env(repo):
    env = dict(os.environ)
    env.update({
        "GIT_AUTHOR_NAME": AUTHOR_NAME, "GIT_AUTHOR_EMAIL": AUTHOR_EMAIL,
        "GIT_COMMITTER_NAME": AUTHOR_NAME, "GIT_COMMITTER_EMAIL": AUTHOR_EMAIL,
        "GIT_AUTHOR_DATE": DATE, "GIT_COMMITTER_DATE": DATE,
        "GIT_CONFIG_NOSYSTEM": "1", "HOME": repo,
    })
    return env


def git(repo, *args, stdin=None):
    return subprocess.run(["git", "-C", repo, *args], check=True, env=git_env(repo),
                          input=stdin, stdout=subprocess.PIPE, text=True).stdout


def touched_files():
    out = {"MAINTAINERS"}
    for step in SERIES:
        out.update(step["edit"])
    return sorted(out)


def write(path, text):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)


def copy_pristine(src, tree):
    for rel in touched_files():
        os.makedirs(os.path.dirname(os.path.join(tree, rel)), exist_ok=True)
        shutil.copyfile(os.path.join(src, rel), os.path.join(tree, rel))


def apply_edit(path, change):
    with open(path, encoding="utf-8") as f:
        text = f.read()
    try:
        text = change(text)
    except SeriesError as e:
        raise SeriesError(f"{path}: {e}") from None
    write(path, text)


def replace_entry(old, new):
    def change(text):
        if text.count(old) != 1:
            raise SeriesError("the MAINTAINERS entry of the previous patch is not there")
        return text.replace(old, new)

    return change


def build_tree(src, work):
    """A git repository with the pristine files the series edits, then one commit per step."""
    os.makedirs(work)
    git(work, "init", "-q", "-b", "series")
    copy_pristine(src, work)
    git(work, "add", "-A")
    git(work, "commit", "-q", "-m", f"Linux {BASE[1:]} (the files the series changes)")
    git(work, "tag", BASE)

    maintained = []
    for step in SERIES:
        for dst, (source, change) in step["new"].items():
            if source is None:
                text = series_text(change)
            else:
                try:
                    text = change(read(source))
                except SeriesError as e:
                    raise SeriesError(f"{source}: {e}") from None
            write(os.path.join(work, dst), text)
        for rel, changes in step["edit"].items():
            for change in changes:
                apply_edit(os.path.join(work, rel), change)
        # The mechanical changes shorten lines and add declarations: the result is formatted
        # with the kernel's rustfmt configuration, as `make rustfmtcheck` checks it in-tree.
        rust = [p for p in list(step["new"]) + list(step["edit"]) if p.endswith(".rs")]
        for path in (os.path.join(work, p) for p in rust):
            # Through stdin: rustfmt formats that input only, without following `mod`s.
            with open(path, encoding="utf-8") as f:
                r = subprocess.run([RUSTFMT, "--config-path", os.path.join(src, ".rustfmt.toml")],
                                   input=f.read(), stdout=subprocess.PIPE, text=True)
            if r.returncode:
                raise SeriesError(f"rustfmt fails on {path}")
            write(path, r.stdout)
        old = maintainers_entry(maintained)
        maintained += step["maintainers"]
        new = maintainers_entry(maintained)
        apply_edit(os.path.join(work, "MAINTAINERS"),
                   replace_entry(old, new) if len(maintained) > len(step["maintainers"])
                   else insert_before(MAINTAINERS_ANCHOR, new))
        git(work, "add", "-A")
        message = series_text(step["msg"]).rstrip("\n")
        message += f"\n\nSigned-off-by: {AUTHOR_NAME} <{AUTHOR_EMAIL}>\n"
        git(work, "commit", "-q", "-F", "-", stdin=message)


# What the out-of-tree build has and the series does not: bindgen's input (the kernel crate's
# bindings_helper.h and our helpers' includes get its headers), and the files that link the
# helpers into each module.
OUT_OF_TREE_ONLY = {
    "rust/bindings/bindgen_parameters",
    "rust/bindings/bindings_helper.h",
    "rust/bindings/mod.rs",
    "rust/helpers/all.c",
    "rust/helpers/rvirtio_net_helpers.c",
    "rust/helpers/rvirtio_pci_helpers.c",
}


def check_complete():
    """Every source of the out-of-tree build is in the series, or known not to be."""
    here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    sources = []
    for root, _, names in os.walk(os.path.join(here, "rust")):
        sources += [os.path.relpath(os.path.join(root, n), here) for n in names]
    missing = sorted(s for s in sources if s not in PATHS and s not in OUT_OF_TREE_ONLY)
    if missing:
        sys.exit(f"patches: not in the series (scripts/patches.py, PATHS): {' '.join(missing)}")


def generate(src, out):
    check_complete()
    out = os.path.abspath(out)
    with tempfile.TemporaryDirectory(prefix="rvirtio-series-") as tmp:
        work = os.path.join(tmp, "tree")
        build_tree(src, work)
        cover = series_text("cover-letter.txt")
        subject, _, body = cover.partition("\n\n")
        git(work, "config", "branch.series.description", subject + "\n\n" + body)
        if os.path.isdir(out):
            shutil.rmtree(out)
        os.makedirs(out)
        git(work, "format-patch", "-q", "--cover-letter", "--cover-from-description=subject",
            "--subject-prefix=PATCH RFC", "--no-signature", "--zero-commit", "-o", out, BASE)
        names = sorted(os.listdir(out))
    print(f"patches: {len(names) - 1} patches and a cover letter in {out}")
    return names


# --- Verification -------------------------------------------------------------------------

def verify(src, out):
    out = os.path.abspath(out)
    patches = sorted(p for p in os.listdir(out) if p.endswith(".patch"))
    if not patches or not patches[0].startswith("0000-"):
        raise SeriesError(f"no series in {out} (run make patches)")
    failed = 0
    with tempfile.TemporaryDirectory(prefix="rvirtio-apply-") as tmp:
        tree = os.path.join(tmp, "tree")
        copy_pristine(src, tree)
        for p in patches[1:]:
            r = subprocess.run(["git", "apply", "--whitespace=error-all", os.path.join(out, p)],
                               cwd=tree, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               text=True)
            if r.returncode:
                print(f"# {p} does not apply:\n{r.stdout}")
                return 1
        # The end of the series is exactly what the sources make.
        with tempfile.TemporaryDirectory(prefix="rvirtio-series-") as tmp2:
            work = os.path.join(tmp2, "tree")
            build_tree(src, work)
            r = subprocess.run(["diff", "-r", "-x", ".git", work, tree],
                               stdout=subprocess.PIPE, text=True)
            if r.returncode:
                print("# the series is stale: run make patches\n" + r.stdout[:4000])
                return 1
    print(f"# {len(patches) - 1} patches apply in order to the pristine {BASE} sources")

    exceptions = load_exceptions()
    for p in patches[1:]:
        r = subprocess.run([os.path.join(src, "scripts", "checkpatch.pl"), "--strict",
                            "--no-tree", "--no-summary", "--showfile", "--color=never",
                            os.path.join(out, p)],
                           cwd=src, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        for report in checkpatch_reports(r.stdout):
            kind, what, path, code = report
            reason = excepted(exceptions, path, what, code)
            if reason:
                print(f"# {p}: {kind} {path}: {what} -- accepted: {reason}")
            else:
                print(f"# {p}: {kind}: {what}\n#   {path}: {code}")
                failed += 1
        if r.returncode and not any(True for _ in checkpatch_reports(r.stdout)):
            print(f"# {p}: checkpatch failed without a report:\n{r.stdout}")
            failed += 1
    print(f"# checkpatch --strict: {failed} unaccepted reports in {len(patches) - 1} patches")
    return 1 if failed else 0


def checkpatch_reports(output):
    """(kind, message, file, quoted line) for each report of `checkpatch.pl --showfile`."""
    lines = output.splitlines()
    for i, line in enumerate(lines):
        m = re.match(r"^(\S+?):\d+: (ERROR|WARNING|CHECK): (.*)$", line)
        if not m:
            m2 = re.match(r"^(ERROR|WARNING|CHECK): (.*)$", line)
            if not m2:
                continue
            # A report on the commit message or the patch as a whole.
            m = (None, "", m2.group(1), m2.group(2))
            path, kind, what = m[1], m[2], m[3]
        else:
            path, kind, what = m.groups()
        code = lines[i + 1][1:] if i + 1 < len(lines) and lines[i + 1].startswith("+") else ""
        yield kind, what, path, code


def load_exceptions():
    """Lines `PATH-GLOB | MESSAGE-REGEX | LINE-REGEX | REASON` of
    scripts/series/checkpatch-exceptions."""
    out = []
    path = os.path.join(SERIES_DIR, "checkpatch-exceptions")
    with open(path, encoding="utf-8") as f:
        for line in f:
            if not line.strip() or line.startswith("#"):
                continue
            glob, message, code, reason = (x.strip() for x in line.split(" | ", 3))
            out.append((glob, re.compile(message), re.compile(code), reason))
    return out


def excepted(exceptions, path, what, code):
    for glob, message, line, reason in exceptions:
        if fnmatch.fnmatch(path, glob) and message.search(what) and line.search(code):
            return reason
    return None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("command", choices=["generate", "verify"])
    ap.add_argument("--src", required=True, help="the pristine kernel tree")
    ap.add_argument("--out", required=True, help="the directory of the series")
    args = ap.parse_args()
    try:
        if args.command == "generate":
            generate(args.src, args.out)
            return 0
        return verify(args.src, args.out)
    except SeriesError as e:
        print(f"patches: {e}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
