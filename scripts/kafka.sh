#!/usr/bin/env bash
# A real Apache Kafka broker (KRaft mode, one node, 127.0.0.1) for tests and benchmarks, run from
# its jars on Maven Central (org.apache.kafka:kafka_2.13 and its dependencies), fetched once with
# mvn into the cache folder. Needs Java 17 and mvn.
# usage: scripts/kafka.sh fetch               download the jars (once)
#        scripts/kafka.sh start DIR [PORT]    format DIR as the broker's storage and start it in the
#                                             background (default port 9092); prints the bootstrap
#                                             address when the broker accepts connections
#        scripts/kafka.sh stop DIR            stop the broker started in DIR (SIGTERM, then SIGKILL)
#        scripts/kafka.sh kill DIR            SIGKILL it (crash tests)
set -euo pipefail
version=${KAFKA_VERSION:-4.4.0}
cache=${DARWIN_KAFKA_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/darwin-kafka/$version}
jars=$cache/jars

fetch() {
  [ -f "$jars/.complete" ] && return
  mkdir -p "$cache"
  exec 9>"$cache.lock"
  flock 9
  [ -f "$jars/.complete" ] && return
  cat > "$cache/pom.xml" <<POM
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>darwin</groupId><artifactId>kafka-broker</artifactId><version>1</version>
  <dependencies>
    <dependency><groupId>org.apache.kafka</groupId><artifactId>kafka_2.13</artifactId><version>$version</version></dependency>
    <dependency><groupId>org.apache.kafka</groupId><artifactId>kafka-tools</artifactId><version>$version</version></dependency>
    <dependency><groupId>org.slf4j</groupId><artifactId>slf4j-api</artifactId><version>2.0.17</version></dependency>
    <dependency><groupId>org.apache.logging.log4j</groupId><artifactId>log4j-slf4j2-impl</artifactId><version>2.24.3</version></dependency>
    <dependency><groupId>org.apache.logging.log4j</groupId><artifactId>log4j-core</artifactId><version>2.24.3</version></dependency>
  </dependencies>
</project>
POM
  mvn -q -f "$cache/pom.xml" dependency:copy-dependencies -DoutputDirectory="$jars" >&2
  touch "$jars/.complete"
}

start() {
  local dir=$1 port=${2:-9092}
  fetch
  mkdir -p "$dir"
  local controller=$((port + 1))
  cat > "$dir/server.properties" <<PROPS
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$controller
listeners=PLAINTEXT://127.0.0.1:$port,CONTROLLER://127.0.0.1:$controller
advertised.listeners=PLAINTEXT://127.0.0.1:$port
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
log.dirs=$dir/data
num.partitions=1
offsets.topic.replication.factor=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
group.initial.rebalance.delay.ms=0
auto.create.topics.enable=false
PROPS
  cat > "$dir/log4j2.properties" <<'LOG'
rootLogger.level=WARN
rootLogger.appenderRef.file.ref=file
appender.file.type=File
appender.file.name=file
appender.file.fileName=${sys:kafka.logs.dir}/server.log
appender.file.layout.type=PatternLayout
appender.file.layout.pattern=[%d] %p %m (%c)%n
LOG
  local java=(java -Xms256m -Xmx1g -cp "$jars/*" -Dkafka.logs.dir="$dir" -Dlog4j2.configurationFile="$dir/log4j2.properties")
  if [ ! -d "$dir/data" ]; then
    "${java[@]}" kafka.tools.StorageTool format -t "$(uuidgen 2>/dev/null || echo 5L6g3nShT-eMCtK--X86sw)" \
      -c "$dir/server.properties" > "$dir/format.log" 2>&1 || { cat "$dir/format.log" >&2; exit 1; }
  fi
  nohup "${java[@]}" kafka.Kafka "$dir/server.properties" > "$dir/stdout.log" 2>&1 &
  echo $! > "$dir/pid"
  for _ in $(seq 600); do
    if (exec 3<>/dev/tcp/127.0.0.1/"$port") 2>/dev/null; then
      echo "127.0.0.1:$port"
      return
    fi
    kill -0 "$(cat "$dir/pid")" 2>/dev/null || { cat "$dir/stdout.log" >&2; exit 1; }
    sleep 0.1
  done
  echo "the broker did not accept connections on port $port within 60 s" >&2
  exit 1
}

stop() {
  local pid
  pid=$(cat "$1/pid" 2>/dev/null) || return 0
  kill "$pid" 2>/dev/null || return 0
  for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.1; done
  kill -9 "$pid" 2>/dev/null || true
}

case ${1:-} in
  fetch) fetch ;;
  start) start "${2:?DIR}" "${3:-9092}" ;;
  stop) stop "${2:?DIR}" ;;
  kill) kill -9 "$(cat "${2:?DIR}/pid")" 2>/dev/null || true ;;
  *) sed -n '2,12p' "$0" >&2; exit 2 ;;
esac
