// Debian's libhiredis-dev (0.14.1) installs its headers under /usr/include/hiredis, which is on the
// default search path, so no pkg-config flags are needed. hiredis.pc adds -D_FILE_OFFSET_BITS=64,
// which makes SwiftPM warn on every build; linking by name in module.modulemap avoids that.
#include <hiredis/hiredis.h>
