"""`python -m lfr_inference`: run the inference service."""

from lfr_platform.service import run_service

from lfr_inference.bootstrap import build
from lfr_inference.settings import InferenceSettings

if __name__ == "__main__":
    run_service(InferenceSettings, build)
