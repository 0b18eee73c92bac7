"""DNN workloads (ResNet-50, MobileNetV2, BERT-base) as GEMM-shaped layers, cited in their files."""

from diffuse_dse.workloads.workload import WORKLOADS, Layer, Workload, load_workload

__all__ = ["WORKLOADS", "Layer", "Workload", "load_workload"]
