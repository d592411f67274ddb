"""bench/scorecard_speed.py -- scikit-learn's LogisticRegression on the WOE
features of a tailor scorecard.

Maps every row of the table to its bins' WOE exactly as the saved scorecard
says (cuts, missing bin), then times LogisticRegression.fit (lbfgs, best of
3) and prints the seconds and the training AUC as JSON.
"""
import json
import sys
import time

import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score

table, card_path, target = sys.argv[1], sys.argv[2], sys.argv[3]
card = json.load(open(card_path))
df = pd.read_csv(table)
bad = card["bad_value"]
y = (df[target].astype(str) == bad).astype(int).to_numpy()
cols = []
for f in card["features"]:
    if not f["kept"] or f["type"] != "numeric":
        continue
    woe = np.array([b["woe"] for b in f["bins"]])
    x = df[f["name"]].to_numpy(dtype=float)
    k = np.searchsorted(np.array(f["cuts"]), x, side="left")
    if "missing_bin" in f:
        k[np.isnan(x)] = f["missing_bin"]
    cols.append(woe[k])
X = np.column_stack(cols)
best = None
for _ in range(3):
    m = LogisticRegression(max_iter=1000)
    t = time.perf_counter()
    m.fit(X, y)
    dt = time.perf_counter() - t
    best = dt if best is None or dt < best else best
auc = roc_auc_score(y, m.predict_proba(X)[:, 1])
print(json.dumps({"seconds": best, "auc": auc, "features": X.shape[1]}))
