#!/bin/sh
# `mvn package -DskipTests`: compiles the classes and the test classes and builds the jar; the
# output build/target is what unit-test runs and what you would deploy.
set -eu
work=$PWD
stage=compile
. "$(dirname "$0")/maven-settings.sh"
mkdir -p build
cd source
# shellcheck disable=SC2086
mvn -B -ntp -s "$work/settings.xml" ${MAVEN_ARGS:-} -DskipTests package
cp -r target "$work/build/target"
echo "built: $(ls "$work/build/target" | grep -E '\.(jar|war)$' | tr '\n' ' ')"
