// The attention kernel for avx512 (see attention_kernel.inc; CMakeLists.txt sets the compile flags).
#define TALKMESH_ISA avx512
#define TALKMESH_VEC_BYTES 64
#define TALKMESH_ROWS 6
#define TALKMESH_COLS 4
#include "attention_kernel.inc"
