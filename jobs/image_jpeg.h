/* image_jpeg.h -- between the JPEG decoder (image_jpeg.c) and its 1/8
 * path for progressive files (image_jpeg_dc.c), which keeps one
 * coefficient per block where libjpeg would keep 64: the state that path
 * hangs on the decompressor, and the call that installs it. */
#ifndef WD_JOBS_IMAGE_JPEG_H
#define WD_JOBS_IMAGE_JPEG_H

#include <stddef.h>
#include <stdio.h> /* jpeglib.h needs FILE */

#include <jpeglib.h>

/* One component's coefficients, DC only. */
typedef struct {
  JCOEF *dc;       /* rows x cols, one per block */
  JBLOCKARRAY win; /* the rows handed out, maxaccess of them */
  JDIMENSION rows, cols, maxaccess, first, n;
  int dirty;
} wd__dc_array;

/* libjpeg's virtual-array methods, wrapped: the components marked dc_only
 * get a wd__dc_array, the others libjpeg's own.  Zeroed by the caller,
 * which keeps it alive until jpeg_destroy_decompress(). */
typedef struct {
  jvirt_barray_ptr (*request)(j_common_ptr, int, boolean, JDIMENSION, JDIMENSION,
                              JDIMENSION);
  void (*realize)(j_common_ptr);
  JBLOCKARRAY (*access)(j_common_ptr, jvirt_barray_ptr, JDIMENSION, JDIMENSION, boolean);
  unsigned char dc_only[MAX_COMPONENTS]; /* by component index */
  wd__dc_array arr[MAX_COMPONENTS];
  int asked; /* arrays requested so far: one per component, in order */
} wd__jpeg_dc;

/* For a progressive JPEG decoded at 1/8 (after jpeg_read_header, with the
 * scale set), drops the AC scans of the components that need only their
 * DC and installs m.  Returns the filtered data, to be freed after the
 * decode, or NULL (nothing changed) if no component can do with its DC
 * alone or the file is not plain enough to filter. */
unsigned char *wd__jpeg_dc_setup(j_decompress_ptr d, wd__jpeg_dc *m,
                                 const unsigned char *p, size_t n);

#endif /* WD_JOBS_IMAGE_JPEG_H */
