package face

/*
#include <dlib/revision.h>
*/
import "C"

import "fmt"

// GoFaceVersion is the version of github.com/Kagami/go-face this engine is
// built with, as go.mod requires it (a test keeps the two in step: test
// binaries carry no module versions to read at run time).
const GoFaceVersion = "v0.0.0-20210630145111-0c14797b4d0e"

// DlibVersion is the version of the dlib headers the engine was compiled
// against, e.g. "19.24.0".
func DlibVersion() string {
	return fmt.Sprintf("%d.%d.%d", int(C.DLIB_MAJOR_VERSION), int(C.DLIB_MINOR_VERSION), int(C.DLIB_PATCH_VERSION))
}

// engineVersion names the engine in every match result, so a stored
// result says which code made it.
func engineVersion() string {
	return "go-face " + GoFaceVersion + ", dlib " + DlibVersion()
}
