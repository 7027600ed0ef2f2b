/* codec._native: the C extension's module object. It defines no Python functions; codec/extension.py
 * loads this shared library with ctypes and calls the C functions of kernel.c and case_runs.c. */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

static struct PyModuleDef native_module = {
    PyModuleDef_HEAD_INIT, "_native",
    "dnacodec's C step and case-run coder, called through ctypes (see codec/extension.py).", -1, NULL,
};

#ifndef DNAC_SOURCES_DIGEST
#define DNAC_SOURCES_DIGEST ""
#endif

/* the digest of the sources this was built from (codec/native_sources.py) */
const char *dnac_sources_digest(void) { return DNAC_SOURCES_DIGEST; }

PyMODINIT_FUNC PyInit__native(void) { return PyModule_Create(&native_module); }
