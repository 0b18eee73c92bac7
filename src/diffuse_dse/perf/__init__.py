"""Analytical performance of a Gemmini-class accelerator on DNN workloads."""
