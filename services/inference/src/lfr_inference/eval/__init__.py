"""Accuracy evaluation: LFW-protocol verification, open-set 1:N identification, score calibration."""
