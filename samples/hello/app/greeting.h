// A tiny library the sample pipeline compiles and tests.
#pragma once
#include <string>

std::string Greeting(const std::string& name);
