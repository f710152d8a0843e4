/* strv.h - transitional: pec_strv lives in mime.h until it gets its own module. */
#ifndef PEC_STRV_H
#define PEC_STRV_H
#include "pec/mime.h"
#endif
