// Old code with a known finding (in the baseline).
#include <cstring>
#include "greeting.h"
void CopyName(char* to, const char* from) { std::strcpy(to, from); }
