"""The original FastAPI service, kept as the reference implementation of the UserApi's contract.

Built as the original was: FastAPI served by uvicorn (one worker), synchronous endpoints (FastAPI
runs them in its thread pool), SQLAlchemy 1.4 `create_engine` with PyMySQL and its default pool,
`SELECT * FROM Users` and `SELECT * FROM Users WHERE user_id = :id`. Debian 12's packages:
python3-fastapi 0.92, python3-uvicorn 0.17, python3-sqlalchemy 1.4.46, python3-pymysql 1.0.2
(pydantic 1.10, so its 422 body has pydantic v1's shape, unlike the UserApi's pydantic v2 one).

Run: MYSQL_HOST=... MYSQL_PORT=... /usr/bin/python3 -m uvicorn main:app --app-dir bench/api/fastapi --port 8001
"""

import os

from fastapi import FastAPI, HTTPException
from sqlalchemy import create_engine, text

engine = create_engine(
    "mysql+pymysql://{user}:{password}@{host}:{port}/{database}?charset=utf8mb4".format(
        user=os.environ.get("MYSQL_USER", "root"),
        password=os.environ.get("MYSQL_PASSWORD", ""),
        host=os.environ.get("MYSQL_HOST", "127.0.0.1"),
        port=os.environ.get("MYSQL_PORT", "3306"),
        database=os.environ.get("MYSQL_DATABASE", "Main"),
    )
)

app = FastAPI()


@app.get("/status")
def get_status():
    return 1


@app.get("/users")
def get_users():
    with engine.connect() as connection:
        rows = connection.execute(text("SELECT * FROM Users")).fetchall()
    return [dict(row._mapping) for row in rows]


@app.get("/users/{user_id}")
def get_user(user_id: int):
    with engine.connect() as connection:
        row = connection.execute(text("SELECT * FROM Users WHERE user_id = :id"), {"id": user_id}).fetchone()
    if row is None:
        raise HTTPException(status_code=404, detail="Unknown User ID")
    return dict(row._mapping)
