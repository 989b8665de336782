// OpenBLAS's CBLAS interface plus its extensions (openblas_get_corename, openblas_set_num_threads).
// Debian installs the pthread flavour under the multiarch include directory.
#include <openblas-pthread/cblas.h>
