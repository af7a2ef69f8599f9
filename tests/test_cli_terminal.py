"""The fastmlp command in a real terminal (a pseudo-terminal of 80 columns), checked for
what the user sees: the progress bar keeps the validation metrics visible, Ctrl-C during
training saves the model and exits with status 130, and a closed pipe ends quietly.

Each test waits for the output it needs (never a fixed sleep) with generous time limits,
so a loaded machine only makes it slower.
"""
import fcntl
import os
import re
import select
import shutil
import signal
import struct
import subprocess
import sys
import termios
import time

import pytest
from test_cli import SRC

import fastmlp as fm

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(sys.platform == "win32", reason="needs a POSIX terminal")]

COLUMNS = 80
LIMIT = 240.0   # seconds for any one wait: generous, the runs take a few seconds
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


class Terminal:
    """A command running with a pseudo-terminal as standard input, output and error (or
    only some of them), of ``COLUMNS`` columns; ``text`` is everything it has shown."""

    def __init__(self, argv, columns=COLUMNS, **popen):
        self.master, slave = os.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, columns, 0, 0))
        env = dict(os.environ, PYTHONPATH=SRC + os.pathsep + os.environ.get("PYTHONPATH", ""),
                   TERM="xterm", COLUMNS=str(columns))
        env.pop("FASTMLP_TRACEBACK", None)
        streams = {"stdin": slave, "stdout": slave, "stderr": slave, **popen}
        # a shell without job control starts background jobs with SIGINT ignored, which
        # Python would keep: give the command the default disposition a terminal gives
        self.proc = subprocess.Popen(argv, env=env, close_fds=True, **streams,
                                     preexec_fn=_default_sigint)
        os.close(slave)
        self.raw = b""

    @property
    def text(self):
        return self.raw.decode("utf-8", "replace")

    def _read(self, timeout):
        ready, _, _ = select.select([self.master], [], [], timeout)
        if not ready:
            return False
        try:
            chunk = os.read(self.master, 65536)
        except OSError:   # EIO: every writer has closed the terminal
            chunk = b""
        self.raw += chunk
        return bool(chunk)

    def wait_for(self, pattern):
        """Read until ``pattern`` (a regex) appears; fail after LIMIT seconds."""
        deadline = time.monotonic() + LIMIT
        while not re.search(pattern, self.text):
            if time.monotonic() > deadline:
                self.proc.kill()
                pytest.fail(f"no {pattern!r} after {LIMIT} s; the terminal shows:\n"
                            f"{self.text[-2000:]}")
            if not self._read(0.5) and self.proc.poll() is not None:
                self._drain()
                if not re.search(pattern, self.text):
                    pytest.fail(f"the command ended ({self.proc.returncode}) without "
                                f"{pattern!r}:\n{self.text[-2000:]}")

    def _drain(self):
        while self._read(0.2):
            pass

    def finish(self):
        """Read to the end; the exit status."""
        deadline = time.monotonic() + LIMIT
        while self.proc.poll() is None:
            if time.monotonic() > deadline:
                self.proc.kill()
                pytest.fail(f"still running after {LIMIT} s:\n{self.text[-2000:]}")
            self._read(0.5)
        self._drain()
        os.close(self.master)
        return self.proc.returncode

    def screen_lines(self):
        """The lines as the terminal shows them: each ends at a newline, and a carriage
        return starts it over (what tqdm uses to redraw its bar)."""
        lines = []
        for line in ANSI.sub("", self.text).replace("\r\n", "\n").split("\n"):
            lines.append(line.split("\r")[-1] if "\r" in line.rstrip("\r") else
                         line.rstrip("\r"))
        return lines


def _default_sigint():
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def fastmlp(*args):
    return [sys.executable, "-m", "fastmlp", *args]


@pytest.mark.parametrize("data,metrics", [
    ("breast_cancer", ["val_loss=", "val_accuracy="]),
    ("diabetes", ["val_loss=", "val_mae=", "val_r2="]),
])
def test_progress_bar_keeps_the_validation_metrics_in_80_columns(data, metrics):
    term = Terminal(fastmlp("--data", data, "--epochs", "3"))
    assert term.finish() == 0, term.text
    bars = [line for line in term.screen_lines() if line.startswith("Epoch ")]
    assert [b.split()[1] for b in bars] == ["1/3", "2/3", "3/3"], term.text
    for bar in bars:
        assert len(bar) <= COLUMNS, bar
        for metric in metrics:
            assert re.search(re.escape(metric) + r"-?\d", bar), bar
    assert all(len(line) <= COLUMNS for line in term.screen_lines() if "Epoch" in line)


def test_ctrl_c_mid_training_saves_and_exits_130(tmp_path):
    path = tmp_path / "stopped.fmlp"
    term = Terminal(fastmlp("--data", "moons", "--samples", "300", "--epochs", "1000000",
                            "--save", str(path)))
    term.wait_for(r"Epoch 3/1000000 .*val_accuracy=")   # two epochs done, a third shown
    term.proc.send_signal(signal.SIGINT)
    status = term.finish()
    assert status == 130, term.text
    match = re.search(r"fastmlp: interrupted after (\d+) completed epoch\(s\); saved the "
                      r"model of the last completed step to (\S+)", ANSI.sub("", term.text))
    assert match, term.text
    assert int(match[1]) >= 2 and match[2] == str(path)
    assert "Traceback" not in term.text
    model = fm.load_model(path)
    assert model.classes.tolist() == [0, 1] and len(model.get_weights()) == 4


def test_closed_pipe_ends_quietly_and_saves(tmp_path):
    """``fastmlp ... | head -1`` in a terminal: head prints the first line and leaves;
    the command finishes its work, saves, and the terminal shows no error."""
    if shutil.which("bash") is None:
        pytest.skip("needs bash for the pipeline")
    path = tmp_path / "m.fmlp"
    script = (f"{sys.executable} -m fastmlp --epochs 20 --save {path} | head -1; "
              "echo \"fastmlp-status=${PIPESTATUS[0]}\"")
    term = Terminal(["bash", "-c", script])
    assert term.finish() == 0, term.text
    text = ANSI.sub("", term.text)
    assert "fastmlp-status=0" in text, text
    assert "data      breast_cancer" in text and "saved the model" not in text
    for bad in ("Broken pipe", "Errno", "Traceback", "error"):
        assert bad not in text, text
    assert fm.load_model(path).classes.tolist() == ["malignant", "benign"]
