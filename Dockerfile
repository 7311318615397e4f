# The Cofre image: Python 3.11, Java 17 for Spark, the S3A connector matching pyspark's Hadoop.
FROM python:3.11.11-slim-bookworm

RUN apt-get update \
 && apt-get install -y --no-install-recommends openjdk-17-jre-headless procps curl \
 && rm -rf /var/lib/apt/lists/*

WORKDIR /opt/cofre
COPY pyproject.toml README.md constraints.txt ./
COPY flows flows
COPY tasks tasks
COPY blocks blocks
COPY spark spark
COPY validation validation
COPY panel_dashboard panel_dashboard
COPY prefect.yaml ./
COPY deploy deploy
COPY docker docker
RUN pip install --no-cache-dir -e . -c constraints.txt

# pyspark 4.x bundles Hadoop 3.5.0 (see pyspark/jars/hadoop-client-api-*.jar): resolve the
# matching hadoop-aws and its AWS SDK bundle once, at build time, into Spark's jars directory.
ARG HADOOP_AWS_VERSION=3.5.0
RUN python - <<PY
import glob, os, shutil, pyspark
from pyspark.sql import SparkSession
spark = (SparkSession.builder.master("local[1]")
         .config("spark.jars.packages", "org.apache.hadoop:hadoop-aws:${HADOOP_AWS_VERSION}")
         .config("spark.jars.ivy", "/tmp/ivy").getOrCreate())
spark.stop()
target = os.path.join(os.path.dirname(pyspark.__file__), "jars")
for jar in glob.glob("/tmp/ivy/jars/*.jar"):
    if not os.path.exists(os.path.join(target, os.path.basename(jar))):
        shutil.copy(jar, target)
PY
RUN rm -rf /tmp/ivy

# Run as an unprivileged user: the code and jars stay root-owned (read-only to it), and only
# the Cofre home is its own. A new named volume mounted there takes this owner and mode.
RUN useradd --system --uid 10001 --create-home --home-dir /home/cofre --shell /usr/sbin/nologin cofre \
 && mkdir -p /var/lib/cofre && chown cofre:cofre /var/lib/cofre && chmod 0700 /var/lib/cofre
USER cofre:cofre

ENV COFRE_HOME=/var/lib/cofre DO_NOT_TRACK=1 PREFECT_SERVER_ANALYTICS_ENABLED=false
CMD ["prefect", "worker", "start", "--pool", "cofre-local", "--type", "process"]
