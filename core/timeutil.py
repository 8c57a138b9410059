"""Time helpers: UTC in the database, Asia/Ho_Chi_Minh on screen."""

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import DateTime
from sqlalchemy.types import TypeDecorator

LOCAL_TZ = ZoneInfo("Asia/Ho_Chi_Minh")


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator):
    """Store naive UTC (SQLite has no time zones), always hand back aware UTC."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def local_day_start(d: date) -> datetime:
    """The first instant of a calendar day in Vietnam, as UTC."""
    return datetime.combine(d, time.min, tzinfo=LOCAL_TZ).astimezone(UTC)


def local_day_end(d: date) -> datetime:
    """The first instant after a calendar day in Vietnam, as UTC (closing is exclusive)."""
    return local_day_start(d + timedelta(days=1))


def to_local(dt: datetime) -> datetime:
    return dt.astimezone(LOCAL_TZ)


def local_date(dt: datetime) -> date:
    return to_local(dt).date()


def closing_date(closes_at: datetime) -> date:
    """The last calendar day on which opinions are accepted."""
    return local_date(closes_at - timedelta(seconds=1))
