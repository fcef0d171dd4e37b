// The attention kernel for avx2 (see attention_kernel.inc; CMakeLists.txt sets the compile flags).
#define TALKMESH_ISA avx2
#define TALKMESH_VEC_BYTES 32
#define TALKMESH_ROWS 6
#define TALKMESH_COLS 2
#include "attention_kernel.inc"
