FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
WORKDIR /app

COPY pyproject.toml README.md alembic.ini ./
COPY domain ./domain
COPY persistence ./persistence
COPY workers ./workers
COPY migrations ./migrations
COPY bench ./bench
RUN pip install .

# The ingress, consumers, relay and dispatcher are all this one image; compose picks the command.
RUN useradd --system --uid 10001 frontdesk
USER frontdesk
ENTRYPOINT ["frontdesk"]
CMD ["--help"]
