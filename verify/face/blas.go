package face

/*
#cgo LDFLAGS: -ldl
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdlib.h>

static int idv_openblas_set_threads(int n) {
	void (*f)(int) = (void (*)(int))dlsym(RTLD_DEFAULT, "openblas_set_num_threads");
	if (!f) return -1;
	f(n);
	return 0;
}

static int idv_openblas_get_threads(void) {
	int (*f)(void) = (int (*)(void))dlsym(RTLD_DEFAULT, "openblas_get_num_threads");
	return f ? f() : -1;
}

static const char* idv_openblas_config(void) {
	char* (*f)(void) = (char* (*)(void))dlsym(RTLD_DEFAULT, "openblas_get_config");
	return f ? f() : 0;
}

static const char* idv_symbol_library(const char* sym) {
	void* p = dlsym(RTLD_DEFAULT, sym);
	Dl_info info;
	if (!p || !dladdr(p, &info)) return 0;
	return info.dli_fname;
}
*/
import "C"

import (
	"bufio"
	"os"
	"path/filepath"
	"strings"
	"unsafe"

	"remoteidv/verify/facematch"
)

// ReadBLASInfo inspects /proc/self/maps and the dynamic linker.
func ReadBLASInfo() (facematch.BLASInfo, error) {
	info := facematch.BLASInfo{Libraries: map[string]string{}, Providers: map[string]string{}}
	f, err := os.Open("/proc/self/maps")
	if err != nil {
		return info, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 6 {
			continue
		}
		p := fields[len(fields)-1]
		base := strings.ToLower(filepath.Base(p))
		if !strings.Contains(base, "blas") && !strings.Contains(base, "lapack") && !strings.Contains(base, "atlas") && !strings.Contains(base, "dlib") {
			continue
		}
		info.Libraries[p] = resolve(p)
	}
	if err := sc.Err(); err != nil {
		return info, err
	}
	for _, sym := range []string{"cblas_sgemm", "sgemm_", "sgesvd_", "dgesvd_"} {
		cs := C.CString(sym)
		lib := C.idv_symbol_library(cs)
		C.free(unsafe.Pointer(cs))
		if lib != nil {
			info.Providers[sym] = resolve(C.GoString(lib))
		}
	}
	if c := C.idv_openblas_config(); c != nil {
		info.OpenBLASConfig = C.GoString(c)
	}
	info.OpenBLASThreads = int(C.idv_openblas_get_threads())
	return info, nil
}

func resolve(p string) string {
	if r, err := filepath.EvalSymlinks(p); err == nil {
		return r
	}
	return p
}

// setBLASThreads sets OpenBLAS's thread count; false without OpenBLAS.
func setBLASThreads(n int) bool {
	return C.idv_openblas_set_threads(C.int(n)) == 0
}
