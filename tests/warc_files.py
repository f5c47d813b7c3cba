# ruff: noqa: E501 - fixture sentences in five scripts are kept whole
"""WARC files for tests, written with warcio: HTML pages in several scripts plus every record kind
a real crawl holds (warcinfo, request, metadata, revisit, a 404, an image, truncated records)."""

from __future__ import annotations

import gzip
import io
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

WARC_DATE = "2024-03-05T10:00:00Z"


@dataclass(frozen=True)
class Page:
    url: str
    html: bytes
    charset: str | None = "utf-8"
    """Put in the HTTP Content-Type header; None leaves it out (the page must say, or be guessed)."""
    date: str = WARC_DATE


def _paragraphs(*sentences: str) -> str:
    return "".join(f"<p>{s}</p>" for s in sentences)


def _page(lang: str, title: str, body: str, direction: str = "ltr") -> str:
    return f"""<!DOCTYPE html><html lang="{lang}" dir="{direction}"><head><meta charset="utf-8"><title>{title}</title>
<meta property="article:published_time" content="2024-03-04T08:00:00+00:00"></head>
<body><header><nav><a href="/">Home</a> <a href="/world">World</a></nav></header>
<main><article><h1>{title}</h1>{body}</article></main><footer>© 2024</footer></body></html>"""


SCRIPT_PAGES = {
    "ja": _page(
        "ja",
        "東京で新しい図書館が開館",
        _paragraphs(
            "東京都内で五日、新しい公立図書館が開館し、朝から多くの市民が訪れた。館内には約二十万冊の本が並び、子ども向けの読書室も設けられた。",
            "館長は記者会見で、地域の人々が気軽に集まれる場所にしたいと述べた。開館を記念して、週末には作家による講演会も開かれる予定だ。",
            "図書館は午前九時から午後八時まで開いており、月曜日は休館となる。利用者カードは無料で作ることができる。",
        ),
    ),
    "ar": _page(
        "ar",
        "افتتاح مكتبة عامة جديدة في عمان",
        _paragraphs(
            "افتتحت في العاصمة الأردنية عمان يوم الثلاثاء مكتبة عامة جديدة تضم أكثر من مئتي ألف كتاب باللغتين العربية والإنجليزية وقاعة خاصة للأطفال.",
            "وقال مدير المكتبة في مؤتمر صحفي إن المكتبة ستكون مكانا مفتوحا لجميع سكان المدينة وإنها ستنظم ورشات للقراءة والكتابة كل أسبوع.",
            "وتفتح المكتبة أبوابها من التاسعة صباحا حتى الثامنة مساء طوال أيام الأسبوع ما عدا يوم الجمعة والاشتراك فيها مجاني.",
        ),
        "rtl",
    ),
    "hi": _page(
        "hi",
        "दिल्ली में नया सार्वजनिक पुस्तकालय खुला",
        _paragraphs(
            "राजधानी दिल्ली में मंगलवार को एक नया सार्वजनिक पुस्तकालय खोला गया जिसमें दो लाख से अधिक पुस्तकें और बच्चों के लिए एक अलग पठन कक्ष है।",
            "पुस्तकालय के निदेशक ने संवाददाताओं से कहा कि यह स्थान शहर के सभी लोगों के लिए खुला रहेगा और हर सप्ताह पढ़ने और लिखने की कार्यशालाएं होंगी।",
            "पुस्तकालय सुबह नौ बजे से रात आठ बजे तक खुला रहेगा और सदस्यता पूरी तरह निःशुल्क है।",
        ),
    ),
    "ru": _page(
        "ru",
        "В Казани открылась новая городская библиотека",
        _paragraphs(
            "Во вторник в Казани открылась новая городская библиотека, в фондах которой более двухсот тысяч книг на русском и татарском языках.",
            "Директор библиотеки заявил журналистам, что здание станет открытым местом для всех жителей города, а по выходным здесь будут проходить встречи с писателями.",
            "Библиотека работает ежедневно с девяти утра до восьми вечера, кроме понедельника, а читательский билет оформляется бесплатно.",
        ),
    ),
    "th": _page(
        "th",
        "ห้องสมุดประชาชนแห่งใหม่เปิดในเชียงใหม่",
        _paragraphs(
            "ห้องสมุดประชาชนแห่งใหม่ เปิดให้บริการใน เชียงใหม่ เมื่อวันอังคาร มีหนังสือมากกว่า สองแสนเล่ม และ ห้องอ่านหนังสือ สำหรับเด็ก",
            "ผู้อำนวยการ ห้องสมุด กล่าวกับ ผู้สื่อข่าว ว่า ที่นี่ จะเป็น พื้นที่ เปิด สำหรับ ทุกคน ใน เมือง และ จะมี กิจกรรม การอ่าน ทุกสัปดาห์",
            "ห้องสมุด เปิด ตั้งแต่ เก้าโมงเช้า ถึง สองทุ่ม ทุกวัน ยกเว้น วันจันทร์ และ การสมัคร สมาชิก ไม่มี ค่าใช้จ่าย",
        ),
    ),
}
"""One news page per script (Japanese, Arabic, Devanagari, Cyrillic, Thai), UTF-8."""


def script_pages(host: str = "news.example") -> list[Page]:
    pages = [Page(f"https://{lang}.{host}/2024/03/04/library", html.encode()) for lang, html in SCRIPT_PAGES.items()]
    # The Cyrillic page once more in windows-1251, its charset said only by the HTTP header.
    cp1251 = SCRIPT_PAGES["ru"].replace('<meta charset="utf-8">', "").encode("cp1251")
    pages.append(Page(f"https://ru-cp1251.{host}/2024/03/04/library", cp1251, charset="windows-1251"))
    return pages


def write_warc(path: Path, pages: Iterable[Page], *, other_records: bool = True, gzip_records: bool = True) -> dict:
    """Writes the pages as 200 HTML responses (each with its request record), plus, when ``other_records``,
    one record of every other kind; returns {kind: count} of what is not a page."""
    kinds: dict[str, int] = {}

    def count(kind: str) -> None:
        kinds[kind] = kinds.get(kind, 0) + 1

    with open(path, "wb") as out:
        writer = WARCWriter(out, gzip=gzip_records)
        if other_records:
            writer.write_record(writer.create_warcinfo_record(path.name, {"software": "tests"}))
            count("warcinfo")
        for page in pages:
            if other_records:
                writer.write_record(_request(writer, page.url))
                count("request")
            writer.write_record(
                _response(writer, page.url, page.html, _content_type("text/html", page.charset), date=page.date)
            )
        if other_records:
            url = "https://other.example/"
            writer.write_record(
                _response(
                    writer, url + "missing", b"<html><body>Not found</body></html>", "text/html", status="404 Not Found"
                )
            )
            count("http_404")
            writer.write_record(_response(writer, url + "logo.png", b"\x89PNG\r\n\x1a\n" + b"\0" * 64, "image/png"))
            count("not_html")
            writer.write_record(
                writer.create_warc_record(
                    url + "meta",
                    "metadata",
                    payload=io.BytesIO(b"fetchTimeMs: 12\n"),
                    warc_content_type="application/warc-fields",
                )
            )
            count("metadata")
            revisit = writer.create_revisit_record(
                url + "again",
                digest="sha1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
                refers_to_uri=url,
                refers_to_date=WARC_DATE,
            )
            writer.write_record(revisit)
            count("revisit")
            cut = _response(writer, url + "long", SCRIPT_PAGES["ru"].encode()[:400], "text/html; charset=utf-8")
            cut.rec_headers.add_header("WARC-Truncated", "length")
            writer.write_record(cut)
            count("truncated")
    return kinds


def append_cut_record(path: Path, html: bytes, url: str = "https://other.example/cut") -> None:
    """Appends a response record whose file ends halfway through it (an interrupted download)."""
    buffer = io.BytesIO()
    writer = WARCWriter(buffer, gzip=path.name.endswith(".gz"))
    writer.write_record(_response(writer, url, html, "text/html; charset=utf-8"))
    data = buffer.getvalue()
    with open(path, "ab") as out:
        out.write(data[: len(data) // 2])


def _content_type(mime: str, charset: str | None) -> str:
    return f"{mime}; charset={charset}" if charset else mime


def _response(
    writer: WARCWriter, url: str, body: bytes, content_type: str, *, status: str = "200 OK", date: str = WARC_DATE
):
    http = StatusAndHeaders(
        status, [("Content-Type", content_type), ("Content-Length", str(len(body)))], protocol="HTTP/1.1"
    )
    return writer.create_warc_record(
        url, "response", payload=io.BytesIO(body), http_headers=http, warc_headers_dict={"WARC-Date": date}
    )


def _request(writer: WARCWriter, url: str):
    http = StatusAndHeaders(
        f"GET /{url.split('/', 3)[-1]} HTTP/1.1", [("Host", url.split("/")[2])], is_http_request=True
    )
    return writer.create_warc_record(url, "request", http_headers=http)


def gzip_whole_file(source: Path, target: Path) -> None:
    """The WARC compressed as one gzip stream (not record by record): it can't be entered midway."""
    target.write_bytes(gzip.compress(source.read_bytes()))
