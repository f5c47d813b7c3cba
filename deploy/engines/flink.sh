#!/usr/bin/env bash
# Installs what a standalone Apache Flink cluster on loopback needs, pinned and checksummed, into
# .cache/engines/ (idempotent: a verified install is left as it is).
#
#   deploy/engines/flink.sh [all|flink|jobserver]
#
#   flink      Flink's lib/ jars (flink-dist and the rest) from PyPI's apache-flink-libraries sdist
#              (Flink's own flink-dist jar is not published to Maven Central).
#   jobserver  Beam's Flink job server jar for the same Flink minor version, with `mvn dependency:copy`.
#
# Exit codes: 0 installed; 2 a tool is missing (java, mvn, python); 3 the registry does not serve
# the pinned artifact; 4 a checksum does not match.
set -euo pipefail

FLINK_VERSION=1.20.1
FLINK_MINOR=${FLINK_VERSION%.*}
FLINK_SDIST_SHA256=be28293619b1d7b04c970b947133ae8d0ca86681f23694be063b3659ea69bb79
BEAM_VERSION=2.77.0
JOB_SERVER_ARTIFACT=org.apache.beam:beam-runners-flink-${FLINK_MINOR}-job-server:${BEAM_VERSION}
# Not pinned yet: the registry reachable here does not serve the artifact, so no digest could be
# taken. The script refuses an unverified jar and prints its digest so it can be pinned here.
JOB_SERVER_SHA256=

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
CACHE=${NEWSBEAM_ENGINES_DIR:-$ROOT/.cache/engines}
FLINK_HOME=$CACHE/flink-$FLINK_VERSION
JOB_SERVER_JAR=$CACHE/beam-runners-flink-${FLINK_MINOR}-job-server-${BEAM_VERSION}.jar
PYTHON=${PYTHON:-$(command -v python3.11 || command -v python3 || true)}

fail() { echo "flink.sh: $2" >&2; exit "$1"; }
need() { command -v "$1" >/dev/null 2>&1 || fail 2 "$1 not found: $2"; }

install_flink() {
  if [ -f "$FLINK_HOME/.installed" ]; then echo "Flink $FLINK_VERSION: already installed in $FLINK_HOME"; return; fi
  need java "install a Java 17 JDK (Flink $FLINK_VERSION runs on Java 17)"
  [ -n "$PYTHON" ] || fail 2 "python3 not found: needed to download the apache-flink-libraries sdist with pip"
  local dl=$CACHE/download sdist
  mkdir -p "$dl"
  sdist=$dl/apache-flink-libraries-$FLINK_VERSION.tar.gz
  if [ ! -f "$sdist" ]; then
    "$PYTHON" -m pip download --quiet --no-deps --no-binary :all: "apache-flink-libraries==$FLINK_VERSION" -d "$dl" \
      || fail 3 "pip could not download apache-flink-libraries==$FLINK_VERSION (is the Python package index reachable?)"
  fi
  echo "$FLINK_SDIST_SHA256  $sdist" | sha256sum --check --quiet - \
    || { rm -f "$sdist"; fail 4 "checksum mismatch for $(basename "$sdist"): removed it; run again"; }
  rm -rf "$FLINK_HOME.tmp" && mkdir -p "$FLINK_HOME.tmp"
  tar xzf "$sdist" -C "$FLINK_HOME.tmp" --strip-components=2 \
    "apache-flink-libraries-$FLINK_VERSION/deps/lib" "apache-flink-libraries-$FLINK_VERSION/deps/bin/bash-java-utils.jar"
  [ -f "$FLINK_HOME.tmp/lib/flink-dist-$FLINK_VERSION.jar" ] || fail 3 "the sdist has no lib/flink-dist-$FLINK_VERSION.jar"
  rm -rf "$FLINK_HOME" && mv "$FLINK_HOME.tmp" "$FLINK_HOME" && touch "$FLINK_HOME/.installed"
  echo "Flink $FLINK_VERSION: installed in $FLINK_HOME"
}

install_job_server() {
  need java "install a Java 17 JDK"
  if [ ! -f "$JOB_SERVER_JAR" ]; then
    need mvn "install Apache Maven (the job server jar is fetched with mvn dependency:copy)"
    mvn --batch-mode --quiet dependency:copy -Dartifact="$JOB_SERVER_ARTIFACT" -DoutputDirectory="$CACHE" >"$CACHE/mvn.log" 2>&1 \
      || fail 3 "Maven could not fetch $JOB_SERVER_ARTIFACT (the configured repository does not serve it; see $CACHE/mvn.log)"
  fi
  local digest
  digest=$(sha256sum "$JOB_SERVER_JAR" | cut -d' ' -f1)
  if [ -z "$JOB_SERVER_SHA256" ]; then
    fail 4 "no checksum pinned for $(basename "$JOB_SERVER_JAR") (its sha256 is $digest): pin JOB_SERVER_SHA256 in deploy/engines/flink.sh"
  fi
  [ "$digest" = "$JOB_SERVER_SHA256" ] || { rm -f "$JOB_SERVER_JAR"; fail 4 "checksum mismatch for $(basename "$JOB_SERVER_JAR"): removed it"; }
  echo "Beam Flink job server $BEAM_VERSION: $JOB_SERVER_JAR"
}

mkdir -p "$CACHE"
case "${1:-all}" in
  flink) install_flink ;;
  jobserver) install_job_server ;;
  all) install_flink; install_job_server ;;
  *) echo "usage: $0 [all|flink|jobserver]" >&2; exit 2 ;;
esac
