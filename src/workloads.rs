//! DNN workloads as GEMM layers (placeholder: being written).
