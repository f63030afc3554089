"""A user's own training script, written to the script-mode contract (docs/script-mode.md).

Plain NumPy and scikit-learn; a PyTorch script follows the same contract.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

import joblib
import numpy as np
from helpers import channel
from sklearn.linear_model import SGDClassifier
from sklearn.preprocessing import StandardScaler

CONTRACT = [
    "SIKLUS_CHANNELS", "SIKLUS_HYPERPARAMETERS", "SIKLUS_RUN_ID", "SIKLUS_NUM_CPUS",
    "SIKLUS_NUM_GPUS", "SIKLUS_TARGET", "SIKLUS_SEED",
]  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--lr", type=float, default=0.01)
    parser.add_argument("--fail", type=json.loads, default=False)
    parser.add_argument("--save", type=json.loads, default=True)
    args = parser.parse_args()
    print(f"training for {args.epochs} epochs at lr {args.lr}", flush=True)
    if args.fail:
        print("something went wrong in epoch 0", file=sys.stderr)
        return 3
    target = os.environ["SIKLUS_TARGET"]
    x, y = channel("train", target)
    x_val, y_val = channel("validation", target)
    scaler = StandardScaler().fit(x)
    x, x_val = scaler.transform(x), scaler.transform(x_val)
    model = SGDClassifier(
        loss="log_loss", learning_rate="constant", eta0=args.lr,
        random_state=int(os.environ["SIKLUS_SEED"]),
    )  # fmt: skip
    with open(os.environ["SIKLUS_METRICS_FILE"], "a", encoding="utf-8") as metrics:
        for epoch in range(args.epochs):
            model.partial_fit(x, y, classes=np.unique(y))
            point = {"key": "validation_accuracy", "value": model.score(x_val, y_val)}
            metrics.write(json.dumps({**point, "step": epoch}) + "\n")
        metrics.write("not json\n")
    if args.save:
        model_dir = Path(os.environ["SIKLUS_MODEL_DIR"])
        joblib.dump({"scaler": scaler, "model": model}, model_dir / "model.joblib")
        contract = {name: os.environ.get(name) for name in CONTRACT}
        (model_dir / "contract.json").write_text(json.dumps(contract, sort_keys=True))
    (Path(os.environ["SIKLUS_OUTPUT_DIR"]) / "notes.txt").write_text("trained\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
