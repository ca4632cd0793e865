"""TensorFlow imported without its start-up log lines, for the CLI, notebooks and dashboards.

``TF_CPP_MIN_LOG_LEVEL`` quiets TensorFlow's own logger, but the C++ (absl)
lines printed while its libraries load ignore it: "All log messages before
absl::InitializeLog() ...", oneDNN notices, and on a machine with CUDA
libraries but no GPU "failed call to cuInit: ... UNKNOWN ERROR (303)". In a
notebook or a voila kernel those lines land in the page, because the kernel
forwards what is written to file descriptor 2. :func:`import_tensorflow_quietly`
imports TensorFlow and Keras with descriptor 2 pointed at a temporary file and
shows what was written only when the import fails; it also makes the
first device query there, which is when the CUDA platform starts and logs. A machine with a GPU still
names it: :func:`gpu_line` is the one line to print there.
"""
from __future__ import annotations

import os
import sys
import tempfile

__all__ = ["import_tensorflow_quietly", "gpu_line"]


def import_tensorflow_quietly() -> None:
    """Import ``tensorflow`` and ``keras`` with their C++ start-up lines set aside.

    Does nothing when TensorFlow is already imported. Sets
    ``TF_CPP_MIN_LOG_LEVEL`` to 2 unless it is set, and absl's verbosity to
    ERROR. If the import fails, what it printed goes to stderr before the
    exception is raised again.
    """
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    if "tensorflow" in sys.modules:
        return
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as log:
        os.dup2(log.fileno(), 2)
        try:
            import absl.logging
            import keras  # noqa: F401
            import tensorflow  # noqa: F401

            absl.logging.set_verbosity(absl.logging.ERROR)
            # the CUDA platform starts (and on a machine without a GPU logs "failed call to
            # cuInit") at the first device query, not at import: query once here
            tensorflow.config.list_physical_devices("GPU")
        except BaseException:
            os.dup2(saved, 2)
            log.seek(0)
            sys.stderr.write(log.read().decode(errors="replace"))
            raise
        finally:
            os.dup2(saved, 2)
            os.close(saved)


def gpu_line() -> str | None:
    """``"TensorFlow sees N GPU(s): NAME, ..."`` when it sees one, else None (imports it quietly)."""
    import_tensorflow_quietly()
    import tensorflow as tf

    gpus = tf.config.list_physical_devices("GPU")
    if not gpus:
        return None
    names = [tf.config.experimental.get_device_details(g).get("device_name", g.name) for g in gpus]
    return f"TensorFlow sees {len(gpus)} GPU(s): {', '.join(names)}"
