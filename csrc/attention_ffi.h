// The XLA FFI handler of the CPU attention kernel (an XLA_FFI_Handler*), for jax.ffi registration.
#pragma once

namespace talkmesh {
void* attention_ffi_handler();
}  // namespace talkmesh
