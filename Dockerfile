# Us Coach: one image for every role (run, web, worker, db upgrade, webhook set).
FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 LOG_FORMAT=json
WORKDIR /app
COPY pyproject.toml README.md ./
COPY bot ./bot
COPY flows ./flows
COPY prompts ./prompts
RUN pip install --no-cache-dir . \
    && useradd --system --uid 10001 --home-dir /app coach \
    && chown -R coach /app
USER coach
ENV FLOWS_DIR=/app/flows PROMPTS_DIR=/app/prompts
EXPOSE 8080 9100
HEALTHCHECK --interval=15s --timeout=3s CMD python -c "import urllib.request,os; urllib.request.urlopen('http://127.0.0.1:' + os.environ.get('HEALTH_PORT', '8080') + '/healthz')"
ENTRYPOINT ["us-coach"]
CMD ["run"]
