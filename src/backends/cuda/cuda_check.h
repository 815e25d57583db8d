// CUDA, cuDNN and cuBLAS(Lt) error codes turned into Status, so no CUDA error is ever dropped
// and none escapes as an exception or abort.
#pragma once

#include <cublasLt.h>
#include <cuda_runtime.h>
#include <cudnn.h>

#include <string>

#include "core/status.h"

namespace ridge::cuda {

inline Status CudaStatus(cudaError_t e, const char* what) {
  if (e == cudaSuccess) return Status::Ok();
  return Status(StatusCode::kInternal, std::string(what) + ": " + cudaGetErrorString(e));
}
inline Status CudnnStatus(cudnnStatus_t e, const char* what) {
  if (e == CUDNN_STATUS_SUCCESS) return Status::Ok();
  return Status(StatusCode::kInternal, std::string(what) + ": " + cudnnGetErrorString(e));
}
inline Status CublasStatus(cublasStatus_t e, const char* what) {
  if (e == CUBLAS_STATUS_SUCCESS) return Status::Ok();
  return Status(StatusCode::kInternal,
                std::string(what) + ": cuBLAS status " + std::to_string(static_cast<int>(e)));
}

}  // namespace ridge::cuda

#define RIDGE_CUDA(expr) RIDGE_RETURN_IF_ERROR(::ridge::cuda::CudaStatus((expr), #expr))
#define RIDGE_CUDNN(expr) RIDGE_RETURN_IF_ERROR(::ridge::cuda::CudnnStatus((expr), #expr))
#define RIDGE_CUBLAS(expr) RIDGE_RETURN_IF_ERROR(::ridge::cuda::CublasStatus((expr), #expr))
