// The attention kernel for baseline (see attention_kernel.inc; CMakeLists.txt sets the compile flags).
#define TALKMESH_ISA baseline
#define TALKMESH_VEC_BYTES 16
#define TALKMESH_ROWS 4
#define TALKMESH_COLS 4
#include "attention_kernel.inc"
