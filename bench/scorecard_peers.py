"""bench/scorecard_peers.py -- the peers of `tailor score cv` on the same folds.

Reads a table (German Credit: space-separated, no header, class 2 = bad) and
the fold of every row written by `tailor score cv --folds-out`, then fits
scikit-learn's LogisticRegression on one-hot features (numeric columns
standardised) and xgboost on the raw codes, fold by fold, and prints the
mean held-out AUC of each as JSON.
"""
import json
import sys

import numpy as np
import pandas as pd
import xgboost as xgb
from sklearn.compose import ColumnTransformer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler


def load(path, preset):
    if preset == "german-credit":
        df = pd.read_csv(path, sep=" ", header=None)
        df.columns = [f"c{i}" for i in range(df.shape[1])]
        y = (df.pop(df.columns[-1]) == 2).astype(int).to_numpy()
        return df, y
    df = pd.read_csv(path, sep=";")
    df = df.drop(columns=["duration"])
    y = (df.pop("y") == "yes").astype(int).to_numpy()
    return df, y


def main():
    path, preset, folds_csv = sys.argv[1], sys.argv[2], sys.argv[3]
    x, y = load(path, preset)
    fold = pd.read_csv(folds_csv)["fold"].to_numpy()
    cat = [c for c in x.columns if x[c].dtype == object]
    num = [c for c in x.columns if c not in cat]
    out = {}
    for name in ("logistic_regression", "xgboost"):
        aucs = []
        for k in sorted(set(fold[fold >= 0])):
            tr, te = fold != k, fold == k
            if name == "logistic_regression":
                pre = ColumnTransformer([("c", OneHotEncoder(handle_unknown="ignore"), cat),
                                         ("n", StandardScaler(), num)])
                m = make_pipeline(pre, LogisticRegression(max_iter=2000))
                m.fit(x[tr], y[tr])
                p = m.predict_proba(x[te])[:, 1]
            else:
                xc = x.copy()
                for c in cat:
                    xc[c] = xc[c].astype("category")
                m = xgb.XGBClassifier(n_estimators=200, max_depth=3, learning_rate=0.05,
                                      subsample=0.8, colsample_bytree=0.8,
                                      enable_categorical=True, tree_method="hist",
                                      random_state=0, n_jobs=2)
                m.fit(xc[tr], y[tr])
                p = m.predict_proba(xc[te])[:, 1]
            aucs.append(roc_auc_score(y[te], p))
        out[name] = float(np.mean(aucs))
    print(json.dumps(out))


main()
