"""What pi-check checks: roots (Debian suite x architecture), installs in them, emulated Pi CPUs.

Each install is README's recipe for that Raspberry Pi OS release, word for word: a venv made
with `python3 -m venv --system-site-packages` (so apt's numpy, OpenCV and, on a Pi,
picamera2 are visible), then one `pip install` line. Every root has the apt packages
Raspberry Pi OS ships for Python imaging (python3-numpy, python3-pil, python3-opencv).
"""

from __future__ import annotations

from dataclasses import dataclass

PI_HOME = "/home/pi"
APT_IMAGING = ("python3-numpy", "python3-pil", "python3-opencv")
BASE = ("python3", "python3-venv", "python3-pip", "ca-certificates")
VENV_FLAGS = ("--system-site-packages",)


@dataclass(frozen=True)
class Root:
    """One debootstrap'ed userland: Raspberry Pi OS's Debian base for one architecture."""

    suite: str
    arch: str  # Debian's name: arm64, armhf
    title: str

    @property
    def name(self) -> str:
        return f"{self.suite}-{self.arch}"

    @property
    def qemu(self) -> str:
        """The binfmt handler (and qemu-user binary suffix) that runs this architecture's programs."""
        return {"arm64": "qemu-aarch64", "armhf": "qemu-arm"}[self.arch]

    @property
    def packages(self) -> tuple[str, ...]:
        return BASE + APT_IMAGING


@dataclass(frozen=True)
class Install:
    """A way a Pi user installs edgecnn in a root: README's pip line for it, and the interpreter it brings."""

    name: str
    title: str
    pip: tuple[str, ...]  # the arguments of `pip install`; {wheel} is the edgecnn wheel's path
    interpreter_module: str
    interpreter_dist: str
    wheel_spec: str  # what must have a wheel for this root's Python and CPU (pip download checks it)
    control: bool = False  # a negative control: apt's OpenCV must FAIL to import and doctor must say why

    def args(self, wheel: str) -> list[str]:
        return [a.format(wheel=wheel) for a in self.pip]


LITERT = Install("litert", "ai-edge-litert: pip install \"edgecnn-*.whl[pi]\"", ("{wheel}[pi]",),
                 "ai_edge_litert.interpreter", "ai-edge-litert", "ai-edge-litert")
TFLITE214 = Install("tflite214", "tflite-runtime 2.14: pip install tflite-runtime==2.14.0 \"numpy<2\" edgecnn-*.whl",
                    ("tflite-runtime==2.14.0", "numpy<2", "{wheel}"), "tflite_runtime.interpreter", "tflite-runtime",
                    "tflite-runtime==2.14.0")
# The recipe before the numpy pin (ai-edge-litert pulling numpy 2 into a bookworm venv): the import
# failure issue 11 reports, kept as a control so doctor is seen telling the truth about a broken import.
NUMPY2 = Install("numpy2", "control: pip install ai-edge-litert \"numpy>=2\" edgecnn-*.whl (no pin)",
                 ("ai-edge-litert", "numpy>=2", "{wheel}"), "ai_edge_litert.interpreter", "ai-edge-litert",
                 "ai-edge-litert", control=True)
INSTALLS = {i.name: i for i in (LITERT, TFLITE214, NUMPY2)}

ROOTS = {r.name: r for r in (
    Root("trixie", "arm64", "Raspberry Pi OS trixie 64-bit (Debian 13, Python 3.13)"),
    Root("bookworm", "arm64", "Raspberry Pi OS bookworm 64-bit (Debian 12, Python 3.11)"),
    Root("bookworm", "armhf", "Raspberry Pi OS bookworm 32-bit (Debian 12 armhf, Python 3.11)"),
)}


@dataclass(frozen=True)
class Target:
    """One install in one root: a row of the results table."""

    root: Root
    install: Install

    @property
    def key(self) -> str:
        return f"{self.root.name}:{self.install.name}"

    @property
    def venv(self) -> str:
        return f"{PI_HOME}/edgecnn-venv-{self.install.name}"


#: Every combination is tried; one without a wheel is reported as such in the table, not failed.
FULL = [Target(ROOTS[r], i) for r in ROOTS for i in (LITERT, TFLITE214)] + [Target(ROOTS["bookworm-arm64"], NUMPY2)]
QUICK = [Target(ROOTS["trixie-arm64"], LITERT)]


def select(roots: list[str] | None, installs: list[str] | None, quick: bool) -> list[Target]:
    """The targets asked for (--quick: trixie arm64 with ai-edge-litert). Raises KeyError naming an unknown one."""
    chosen = QUICK if quick else FULL
    for name in roots or []:
        if name not in ROOTS:
            raise KeyError(f"unknown root {name!r}; choose from {', '.join(ROOTS)}")
    for name in installs or []:
        if name not in INSTALLS:
            raise KeyError(f"unknown install {name!r}; choose from {', '.join(INSTALLS)}")
    return [t for t in chosen if (not roots or t.root.name in roots) and (not installs or t.install.name in installs)]


@dataclass(frozen=True)
class Board:
    """A Raspberry Pi model as the emulated program sees it: qemu's CPU model and the Pi's /proc/cpuinfo."""

    name: str
    arch: str
    title: str
    qemu_cpu: str
    cpu_lines: str  # one core's block of /proc/cpuinfo
    tail: str  # the lines after the cores

    def cpuinfo(self, cpus: int) -> str:
        """/proc/cpuinfo as Raspberry Pi OS on this Pi shows it, for `cpus` cores.

        qemu-user (bookworm's 7.2) passes the host's x86 /proc/cpuinfo through, which no Pi
        program ever sees; ai-edge-litert's CPU detection then crashes (SIGSEGV with /sys
        mounted). The Pi's own text is the faithful input.
        """
        return "".join(f"processor\t: {i}\n{self.cpu_lines}\n" for i in range(cpus)) + self.tail


def _arm64(name: str, title: str, cpu: str, bogo: str, features: str, variant: str, part: str, rev: str,
           board_rev: str, model: str) -> Board:
    core = (f"BogoMIPS\t: {bogo}\nFeatures\t: {features}\nCPU implementer\t: 0x41\nCPU architecture: 8\n"
            f"CPU variant\t: {variant}\nCPU part\t: {part}\nCPU revision\t: {rev}\n")
    return Board(name, "arm64", title, cpu, core,
                 f"Revision\t: {board_rev}\nSerial\t\t: 0000000000000000\nModel\t\t: {model}\n")


# qemu's default CPU model ("max") has features no Pi has (SVE, SME): ai-edge-litert picks SME
# int8 kernels there and, under qemu 7.2, answers wrongly. So each Pi's own core is emulated.
BOARDS = {b.name: b for b in (
    _arm64("pi4", "Raspberry Pi 4 / 400 / CM4 (Cortex-A72)", "cortex-a72", "108.00",
           "fp asimd evtstrm crc32 cpuid", "0x0", "0xd08", "3", "c03111", "Raspberry Pi 4 Model B Rev 1.1"),
    _arm64("pi5", "Raspberry Pi 5 (Cortex-A76)", "cortex-a76", "108.00",
           "fp asimd evtstrm aes pmull sha1 sha2 crc32 atomics fphp asimdhp cpuid asimdrdm lrcpc dcpop asimddp",
           "0x4", "0xd0b", "1", "d04170", "Raspberry Pi 5 Model B Rev 1.0"),
    _arm64("pi3", "Raspberry Pi 3 / Zero 2 W (Cortex-A53)", "cortex-a53", "38.40",
           "fp asimd evtstrm crc32 cpuid", "0x0", "0xd03", "4", "a020d3", "Raspberry Pi 3 Model B Plus Rev 1.3"),
    # 32-bit: the Pi 2's Cortex-A7 is the one ARMv7 Pi core qemu-arm emulates as itself.
    Board("pi2", "armhf", "Raspberry Pi 2 (Cortex-A7), 32-bit", "cortex-a7",
          "model name\t: ARMv7 Processor rev 5 (v7l)\nBogoMIPS\t: 38.40\nFeatures\t: half thumb fastmult vfp edsp "
          "neon vfpv3 tls vfpv4 idiva idivt vfpd32 lpae evtstrm\nCPU implementer\t: 0x41\nCPU architecture: 7\n"
          "CPU variant\t: 0x0\nCPU part\t: 0xc07\nCPU revision\t: 5\n",
          "Hardware\t: BCM2835\nRevision\t: a21041\nSerial\t\t: 0000000000000000\n"
          "Model\t\t: Raspberry Pi 2 Model B Rev 1.1\n"),
)}
NATIVE = Board("native", "", "this machine (native)", "", "", "")


def boards_for(root: Root, names: list[str]) -> list[Board]:
    """The boards asked for that run this root's architecture (armhf roots always get the Pi 2)."""
    fitting = [BOARDS[n] for n in names if BOARDS[n].arch == root.arch]
    return fitting or [b for b in BOARDS.values() if b.arch == root.arch][:1]
