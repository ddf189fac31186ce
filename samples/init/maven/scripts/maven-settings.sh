# Sourced by compile.sh and unit-test.sh: writes $work/settings.xml. With MAVEN_REPO set (default
# Debian's /usr/share/maven-repo, from the Debian packages of the plugins and libraries), every
# artifact comes from that directory and nothing from the network; the local repository lives in
# the task cache m2/.
repo=${MAVEN_REPO-/usr/share/maven-repo}
mirror=""
if [ -n "$repo" ]; then
  [ -d "$repo" ] || { echo "$stage FAILED: MAVEN_REPO $repo does not exist (apt-get install maven and the libraries the project uses, or set MAVEN_REPO to \"\" for Maven Central)"; exit 1; }
  # Debian's repository has no checksum files: ignore them rather than warn for each artifact.
  policy="<releases><checksumPolicy>ignore</checksumPolicy></releases>"
  mirror="<mirrors><mirror><id>debian</id><mirrorOf>*</mirrorOf><url>file://$repo</url></mirror></mirrors>"
  mirror="$mirror<profiles><profile><id>debian</id><repositories><repository><id>central</id><url>file://$repo</url>$policy</repository></repositories><pluginRepositories><pluginRepository><id>central</id><url>file://$repo</url>$policy</pluginRepository></pluginRepositories></profile></profiles><activeProfiles><activeProfile>debian</activeProfile></activeProfiles>"
fi
cat >"$work/settings.xml" <<SETTINGS
<settings><localRepository>$work/m2</localRepository>$mirror</settings>
SETTINGS
for tool in java mvn; do
  command -v "$tool" >/dev/null || { echo "$stage FAILED: $tool is not installed on the worker (apt-get install openjdk-17-jdk-headless maven)"; exit 1; }
done
