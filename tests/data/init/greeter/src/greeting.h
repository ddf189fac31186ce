#pragma once
#include <string>
std::string Greeting(const std::string& name);
void CopyName(char* to, const char* from);
