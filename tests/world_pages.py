"""News pages and records in the world's scripts, with the metadata pages declare (for content-column tests)."""

from __future__ import annotations

import html
import json

WORLD = {
    "zh": (
        "四川泸定发生地震 救援人员已赶赴震中",
        [
            "新华社成都3月5日电 记者从四川省地震局获悉，5日凌晨2时14分，四川省甘孜藏族自治州泸定县发生5.8级地震，"
            "震源深度12公里。地震发生后，四川省启动地震应急三级响应。",
            "省消防救援总队派出120名救援人员赶赴泸定县开展搜救工作。据泸定县应急管理局初步统计，地震造成3人受伤，"
            "部分老旧房屋出现裂缝，暂无人员死亡报告。",
            "成都、雅安等地震感明显，不少市民在睡梦中被惊醒。中国地震台网中心专家表示，此次地震属于鲜水河断裂带活动，"
            "后续发生更大地震的可能性较小，但仍需防范余震。",
        ],
    ),
    "ar": (
        "افتتاح مستشفى جديد في الإسكندرية",
        [
            "أعلنت وزارة الصحة اليوم عن افتتاح مستشفى جديد في مدينة الإسكندرية بسعة ثلاثمائة سرير، "
            "ويضم المستشفى أقساماً متخصصة في طب الأطفال وجراحة القلب والطوارئ.",
            "وقال الوزير في مؤتمر صحفي إن المشروع استغرق ثلاث سنوات من العمل المتواصل بتكلفة بلغت مليار جنيه، "
            "وإن الأجهزة الطبية الحديثة وصلت إلى المستشفى الشهر الماضي.",
            "وأضاف أن المستشفى سيخدم أكثر من مليوني مواطن في المحافظة والمناطق المجاورة، "
            "وسيوفر فرص عمل لنحو ألف طبيب وممرض وفني خلال العام الأول.",
        ],
    ),
    "hi": (
        "किसानों के लिए नई सहायता योजना की घोषणा",
        [
            "नई दिल्ली में आज केंद्र सरकार ने किसानों के लिए एक नई योजना की घोषणा की, जिसके तहत छोटे किसानों को "
            "हर साल छह हज़ार रुपये की सहायता दी जाएगी।",
            "कृषि मंत्री ने संवाददाताओं से कहा कि इस योजना से देश के लगभग दस करोड़ किसान परिवारों को लाभ होगा और "
            "गाँवों में खेती की लागत का बोझ कम होगा।",
            "उन्होंने बताया कि पहली किस्त अगले महीने जारी की जाएगी और पूरी राशि सीधे किसानों के बैंक खातों में भेजी "
            "जाएगी, ताकि किसी बिचौलिये की ज़रूरत न पड़े।",
        ],
    ),
    "ru": (
        "Новосибирск утвердил транспортный бюджет",
        [
            "Городской совет Новосибирска в понедельник утвердил новый транспортный бюджет после шестичасового "
            "обсуждения в главном зале мэрии.",
            "Согласно плану, автобусы в северных районах будут ходить каждые десять минут в часы пик, а на "
            "центральных улицах появятся выделенные полосы для общественного транспорта.",
            "Глава совета заявила, что инвестиции сократят время в пути для тысяч жителей, которые сейчас ждут "
            "транспорт до получаса. Первые новые автобусы выйдут на линии в январе.",
        ],
    ),
    "th": (
        "กรุงเทพฯ ประกาศแผนรถโดยสารไฟฟ้า",
        [
            "กรุงเทพมหานครประกาศแผนพัฒนาระบบขนส่งสาธารณะฉบับใหม่ในวันจันทร์ "
            "โดยจะเพิ่มรถโดยสารประจำทางไฟฟ้าอีกห้าร้อยคันภายในสองปีข้างหน้า",
            "ผู้ว่าราชการกรุงเทพมหานครกล่าวว่าโครงการนี้จะช่วยลดมลพิษทางอากาศ "
            "และลดเวลาการเดินทางของประชาชนหลายแสนคนที่ใช้รถโดยสารทุกวัน",
            "นอกจากนี้ยังมีแผนสร้างทางจักรยานเพิ่มเติมในเขตชั้นใน และจะเปิดรับฟังความคิดเห็นจากประชาชนในเดือนหน้าก่อนเริ่มก่อสร้าง",
        ],
    ),
}
"""ISO 639-1 code → (headline, paragraphs) of one news report."""


def declared(code: str) -> dict:
    """What the page for ``code`` declares about itself (and what the columns must say)."""
    headline, paragraphs = WORLD[code]
    return {
        "url": f"https://news.example.org/{code}/2024/03/05/report",
        "description": paragraphs[0][:80].strip(),
        "image": "/images/2024/top-photo.jpg",
        "image_url": "https://news.example.org/images/2024/top-photo.jpg",
        "section": f"Section {code}",
        "keywords": (f"{code} keyword one", f"{code} keyword two"),
        "subheading": f"{headline} ({code})",
    }


def world_page(code: str) -> bytes:
    """A real-shaped page: head metadata (description, og:image, article:section, keywords), boilerplate around
    an <article> with a subheading and a list (what Markdown keeps)."""
    headline, paragraphs = WORLD[code]
    meta = declared(code)
    body = "\n".join(f"<p>{html.escape(p)}</p>" for p in paragraphs[:2])
    return f"""<!DOCTYPE html>
<html lang="{code}"><head><meta charset="utf-8">
<title>{html.escape(headline)} | Example News</title>
<meta name="description" content="{html.escape(meta["description"])}">
<meta property="og:image" content="{meta["image"]}">
<meta property="article:section" content="{meta["section"]}">
<meta name="keywords" content="{", ".join(meta["keywords"])}">
<meta property="article:published_time" content="2024-03-05T10:00:00+02:00">
<link rel="canonical" href="{meta["url"]}">
</head><body>
<nav><ul><li><a href="/">Home</a></li><li><a href="/sport">Sport</a></li></ul></nav>
<article><h1>{html.escape(headline)}</h1>
{body}
<h2>{html.escape(meta["subheading"])}</h2>
<ul><li>{html.escape(paragraphs[2])}</li></ul>
</article>
<footer><p>Copyright Example News Group, all rights reserved.</p></footer>
</body></html>""".encode()


def undated_world_page(code: str, footer: str) -> bytes:
    """``world_page`` declaring no date (no date meta, no date in its URLs), with ``footer`` as its footer line."""
    dated = b'<meta property="article:published_time" content="2024-03-05T10:00:00+02:00">\n'
    page = world_page(code).replace(dated, b"")
    return page.replace(b"/2024/03/05/", b"/").replace(b"Copyright Example News Group", footer.encode())


def news_please_record(code: str) -> dict:
    """A record as news-please writes it (maintext, date_publish with a space, description, image_url)."""
    headline, paragraphs = WORLD[code]
    return {
        "authors": ["Ana Example"],
        "date_download": "2024-03-06 08:00:00",
        "date_modify": "2024-03-06 08:00:00",
        "date_publish": "2024-03-05 09:30:00",
        "description": paragraphs[0][:60].strip(),
        "filename": f"{code}.json",
        "image_url": f"https://img.example.org/{code}.jpg",
        "language": code,
        "localpath": None,
        "maintext": "\n\n".join(paragraphs),
        "source_domain": "news.example.org",
        "title": headline,
        "title_page": None,
        "title_rss": None,
        "url": f"https://news.example.org/{code}/np",
    }


def fundus_record(code: str) -> dict:
    """A record as Fundus's ``to_json`` writes it (plaintext, publishing_date with an offset, topics)."""
    headline, paragraphs = WORLD[code]
    return {
        "title": headline,
        "plaintext": "\n\n".join(paragraphs),
        "authors": ["Bo Example", "Cy Example"],
        "publishing_date": "2024-03-05T11:15:00+01:00",
        "topics": [f"{code} topic", "World"],
        "free_access": True,
        "url": f"https://fundus.example.org/{code}",
    }


def jsonl(records: list[dict]) -> str:
    return "".join(json.dumps(record, ensure_ascii=False) + "\n" for record in records)
