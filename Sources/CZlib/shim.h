// The system zlib (Debian's zlib1g-dev), for streaming .gz input.
#include <zlib.h>
