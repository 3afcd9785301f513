"""Compiled kernels shared by the local and the Spark engine of the LSH-tree family.

Both engines call these same functions on the same numbers, so they produce
bit-identical trees, node weights and DP tables; nothing here knows about
Spark, DataFrames or :class:`~bigclust.lshtree.hierarchy.Hierarchy`.

``subtree_dp``   Algorithms 5 and 6 over one subtree whose boundary tables are given
                 (Algorithm 7); the local DP is the one-subtree case
``node_stats``   Ward's merge of vertex weight, mean and SSE (node weights of k-means)
``forest``       the union-find sweep and Algorithms 3-4's binarised vertices
``candidates``   Algorithm 1's proposed edges of one scale (local sweeps)
``separation``   the lower bound on cross-component distances that lets sweeps skip scales
``distances``    squared distances summed in coordinate order
``penalised``    the Lagrangian relaxation's penalised pass (value and cluster counts for a
                 batch of penalties) and selection over one subtree; the local pass is the
                 one-subtree case
"""
