#!/usr/bin/env bash
# A private Apache ActiveMQ broker for the `tally ship apel` test, from Debian's activemq package
# (installed if missing, without starting the system's own instance): its own configuration,
# KahaDB store and STOMP port on loopback, so a restart keeps what it had acknowledged.
#   scripts/activemq.sh start     # prints host:port of its STOMP connector
#   scripts/activemq.sh freeze    # SIGSTOP: the broker holds its connections and answers nothing
#   scripts/activemq.sh kill      # SIGKILL, as a crash would (the store stays)
#   scripts/activemq.sh restart   # kill, then start on the same store and port
#   scripts/activemq.sh stop      # stop and remove everything
# TALLY_AMQ_DIR (default /tmp/tally-activemq) and TALLY_AMQ_PORT (default 61613) move it. A
# second connector, stomp+ssl on TALLY_AMQ_PORT + 1, asks for a client certificate: the script
# makes a CA, the broker's certificate and a client's in DIR/tls (ca.pem, client.pem, client.key).
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${TALLY_AMQ_DIR:-/tmp/tally-activemq}
port=${TALLY_AMQ_PORT:-61613}
tls_port=$((port + 1))
jar=/usr/share/activemq/bin/activemq.jar

running() { [ -f "$dir/broker.pid" ] && kill -0 "$(cat "$dir/broker.pid")" 2>/dev/null; }

# A CA, the broker's key store and trust store (Java reads PKCS #12; keytool marks the CA as
# trusted, which openssl's export does not), and a client certificate the CA signed.
make_tls() {
    local t=$dir/tls
    mkdir -p "$t"
    openssl req -x509 -newkey rsa:2048 -nodes -keyout "$t/ca.key" -out "$t/ca.pem" -days 30 \
        -subj "/C=UK/O=Tally Test/CN=Tally Test Broker CA" 2>/dev/null
    for who in broker client; do
        openssl req -newkey rsa:2048 -nodes -keyout "$t/$who.key" -out "$t/$who.csr" \
            -subj "/C=UK/O=Tally Test/CN=$who.example.org" 2>/dev/null
        printf 'subjectAltName=DNS:localhost,DNS:%s.example.org,IP:127.0.0.1\n' "$who" > "$t/$who.ext"
        openssl x509 -req -in "$t/$who.csr" -CA "$t/ca.pem" -CAkey "$t/ca.key" -CAcreateserial \
            -out "$t/$who.pem" -days 30 -extfile "$t/$who.ext" 2>/dev/null
    done
    openssl pkcs12 -export -in "$t/broker.pem" -inkey "$t/broker.key" -out "$t/broker.p12" \
        -passout pass:tally-test -name broker
    keytool -importcert -noprompt -alias ca -file "$t/ca.pem" -keystore "$t/trust.p12" \
        -storetype PKCS12 -storepass tally-test >/dev/null 2>&1
}

launch() {
    mkdir -p "$dir/conf" "$dir/data" "$dir/tmp"
    [ -f "$dir/tls/trust.p12" ] || make_tls
    if [ ! -f "$dir/conf/activemq.xml" ]; then
        cp /etc/activemq/instances-available/main/log4j2.properties "$dir/conf/"
        cat > "$dir/conf/activemq.xml" <<EOF
<beans xmlns="http://www.springframework.org/schema/beans"
       xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"
       xsi:schemaLocation="http://www.springframework.org/schema/beans http://www.springframework.org/schema/beans/spring-beans-2.0.xsd
                           http://activemq.apache.org/schema/core http://activemq.apache.org/schema/core/activemq-core.xsd">
  <broker xmlns="http://activemq.apache.org/schema/core" useJmx="false" brokerName="tally-test"
          dataDirectory="$dir/data" persistent="true" schedulerSupport="false">
    <persistenceAdapter><kahaDB directory="$dir/data/kahadb"/></persistenceAdapter>
    <sslContext>
      <sslContext keyStore="file:$dir/tls/broker.p12" keyStorePassword="tally-test" keyStoreType="PKCS12"
                  trustStore="file:$dir/tls/trust.p12" trustStorePassword="tally-test" trustStoreType="PKCS12"/>
    </sslContext>
    <transportConnectors>
      <transportConnector name="stomp" uri="stomp://127.0.0.1:$port?transport.closeAsync=false"/>
      <transportConnector name="stomp+ssl" uri="stomp+ssl://127.0.0.1:$tls_port?needClientAuth=true"/>
    </transportConnectors>
  </broker>
</beans>
EOF
    fi
    # The JVM in the background, its pid remembered: `kill` must reach the broker itself. It
    # keeps none of the caller's descriptors beyond 0-2: a caller waiting for this script (a
    # test's Process) must not wait for the broker too.
    (
        for fd in /proc/self/fd/*; do
            n=${fd##*/}
            [ "$n" -gt 2 ] && eval "exec $n>&-" 2>/dev/null
        done
        exec java -Xms64M -Xmx256M -Djava.awt.headless=true \
        -Dactivemq.home=/usr/share/activemq -Dactivemq.base="$dir" -Dactivemq.conf="$dir/conf" \
        -Dactivemq.data="$dir/data" -Djava.io.tmpdir="$dir/tmp" \
        -Dlog4j2.configurationFile="$dir/conf/log4j2.properties" \
        -jar "$jar" start "xbean:file:$dir/conf/activemq.xml"
    ) </dev/null >>"$dir/broker.out" 2>&1 &
    echo $! > "$dir/broker.pid"
    for _ in $(seq 1 300); do
        if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
            echo "127.0.0.1:$port"
            return 0
        fi
        running || { tail -n 30 "$dir/broker.out" >&2; echo "ActiveMQ exited while starting" >&2; return 1; }
        sleep 0.2
    done
    tail -n 30 "$dir/broker.out" >&2
    echo "ActiveMQ did not open port $port" >&2
    return 1
}

kill_broker() {
    if running; then
        local pid
        pid=$(cat "$dir/broker.pid")
        kill -9 "$pid" 2>/dev/null || true
        for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
    fi
    rm -f "$dir/broker.pid"
}

case "${1:-}" in
start)
    if [ ! -f "$jar" ]; then
        scripts/ensure-deps.sh activemq >&2
    fi
    if running; then
        echo "127.0.0.1:$port"
        exit 0
    fi
    rm -rf "$dir"
    launch
    ;;
freeze)
    running && kill -STOP "$(cat "$dir/broker.pid")"
    ;;
kill)
    kill_broker
    ;;
restart)
    kill_broker
    launch
    ;;
stop)
    if running; then
        kill -CONT "$(cat "$dir/broker.pid")" 2>/dev/null || true
        kill "$(cat "$dir/broker.pid")" 2>/dev/null || true
        for _ in $(seq 1 100); do running || break; sleep 0.1; done
        kill_broker
    fi
    rm -rf "$dir"
    ;;
*)
    echo "usage: $0 start|freeze|kill|restart|stop" >&2
    exit 2
    ;;
esac
