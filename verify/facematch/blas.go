package facematch

import "sort"

// BLASInfo says which BLAS and LAPACK the running process actually uses.
type BLASInfo struct {
	// Libraries are the BLAS/LAPACK/ATLAS shared objects mapped into the
	// process, as mapped path => resolved path (symlinks followed).
	Libraries map[string]string
	// Providers maps the routines dlib calls (cblas_sgemm, sgemm_,
	// sgesvd_) to the resolved library that supplies them.
	Providers map[string]string
	// OpenBLASConfig is openblas_get_config(), empty without OpenBLAS.
	OpenBLASConfig string
	// OpenBLASThreads is openblas_get_num_threads(), -1 without OpenBLAS.
	OpenBLASThreads int
}

// LibraryList returns the mapped libraries sorted, "path -> resolved".
func (b BLASInfo) LibraryList() []string {
	var out []string
	for p, r := range b.Libraries {
		if p == r {
			out = append(out, p)
		} else {
			out = append(out, p+" -> "+r)
		}
	}
	sort.Strings(out)
	return out
}
