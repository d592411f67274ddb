#!/usr/bin/python3
"""The peer of tailor's k-means: scikit-learn's KMeans (k-means++, same k,
same number of runs) on the same standardised rows. Prints seconds,
inertia. Usage: kmeans_sklearn.py ROWS.csv K N_INIT"""
import sys, time
import numpy as np
from sklearn.cluster import KMeans
x = np.loadtxt(sys.argv[1], delimiter=",")
k, n_init = int(sys.argv[2]), int(sys.argv[3])
t0 = time.perf_counter()
km = KMeans(n_clusters=k, init="k-means++", n_init=n_init, max_iter=300, random_state=1).fit(x)
print(f"{time.perf_counter() - t0:.3f} {km.inertia_:.6f}")
