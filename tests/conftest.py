import os

# Tesseract is parallelized by processes; its own OpenMP threads only slow it down here.
os.environ.setdefault("OMP_THREAD_LIMIT", "1")
