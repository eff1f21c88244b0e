"""Answers in the scripts a launched AI feature replies in: templates per language with varying details.

The demo, the triage tests and the triage benchmark draw from these, so every script the product
claims to search and read is exercised with text written the way that language is written (no
spaces in Chinese, Japanese and Thai; accents in Spanish and German; right-to-left Arabic).
"""

from __future__ import annotations

import random

TEMPLATES: dict[str, list[str]] = {
    "en": [
        "Your refund of {amount} for order {order} was approved on day {day}. It reaches the card ending {card} "
        "within {n} business days; reply with the order number if it has not arrived by then.",
        "The {plan} plan includes {seats} seats and {gb} GB of storage. Extra seats cost {amount} each per month "
        "and are prorated from the day they are added. You use {n} of your seats today.",
    ],
    "es": [
        "Tu reembolso de {amount} del pedido {order} se aprobó el día {day}. Llegará a la tarjeta terminada en "
        "{card} en {n} días hábiles; si no aparece, respóndenos con el número de pedido y lo revisaremos.",
        "El plan {plan} incluye {seats} asientos y {gb} GB de almacenamiento. Cada asiento adicional cuesta "
        "{amount} al mes y se prorratea desde el día en que se añade. Hoy usas {n} asientos.",
    ],
    "de": [
        "Ihre Erstattung über {amount} für Bestellung {order} wurde am Tag {day} genehmigt. Sie erscheint binnen "
        "{n} Werktagen auf der Karte mit der Endung {card}; bitte melden Sie sich, falls nicht.",
        "Der Tarif {plan} umfasst {seats} Plätze und {gb} GB Speicher. Zusätzliche Plätze kosten {amount} pro "
        "Monat und werden ab dem Tag der Buchung anteilig berechnet. Derzeit nutzen Sie {n} Plätze.",
    ],
    "zh": [
        "您的订单{order}的退款{amount}已于{day}日批准，款项将在{n}个工作日内退回尾号{card}的银行卡。"
        "如果届时仍未到账，请回复订单号，我们会为您进一步核查。",
        "{plan}套餐包含{seats}个席位和{gb}GB存储空间。额外席位每月{amount}，从添加当天起按比例计费。"
        "您目前已使用{n}个席位，还可以随时在设置中调整。",
    ],
    "ja": [
        "ご注文{order}の返金{amount}は{day}日に承認されました。末尾{card}のカードに{n}営業日以内に反映されます。"
        "期日を過ぎても確認できない場合は、注文番号を添えてご返信ください。",
        "{plan}プランには{seats}席と{gb}GBのストレージが含まれます。追加席は月額{amount}で、"
        "追加した日から日割りで請求されます。現在{n}席をご利用中です。",
    ],
    "ko": [
        "주문 {order}의 환불 {amount}이 {day}일에 승인되었습니다. 끝자리 {card} 카드로 {n}영업일 이내에 "
        "입금됩니다. 그때까지 확인되지 않으면 주문 번호와 함께 답장해 주세요.",
        "{plan} 요금제에는 좌석 {seats}개와 저장 공간 {gb}GB가 포함됩니다. 추가 좌석은 월 {amount}이며 "
        "추가한 날부터 일할 계산됩니다. 현재 좌석 {n}개를 사용 중입니다.",
    ],
    "th": [
        "การคืนเงิน{amount}สำหรับคำสั่งซื้อ{order}ได้รับอนุมัติเมื่อวันที่{day}แล้ว "
        "เงินจะเข้าบัตรที่ลงท้ายด้วย{card}ภายใน{n}วันทำการ หากยังไม่ได้รับโปรดตอบกลับพร้อมหมายเลขคำสั่งซื้อ",
        "แพ็กเกจ{plan}มีที่นั่ง{seats}ที่และพื้นที่จัดเก็บ{gb}GB ที่นั่งเพิ่มเติมราคาเดือนละ{amount} คิดตามสัดส่วนตั้งแต่วันที่เพิ่ม ขณะนี้คุณใช้ที่นั่งอยู่{n}ที่",
    ],
    "ar": [
        "تمت الموافقة على استرداد مبلغ {amount} للطلب {order} في اليوم {day}. سيصل المبلغ إلى البطاقة المنتهية "
        "بالرقم {card} خلال {n} أيام عمل، وإذا لم يصل فيرجى الرد برقم الطلب.",
        "تتضمن خطة {plan} عدد {seats} مقاعد ومساحة تخزين {gb} غيغابايت. يكلف كل مقعد إضافي {amount} شهريا "
        "ويحسب بالتناسب من يوم إضافته. تستخدم حاليا {n} من مقاعدك.",
    ],
}
LANGUAGES = tuple(TEMPLATES)
PLANS = {
    "en": ["Starter", "Team", "Business"],
    "es": ["Inicial", "Equipo", "Empresa"],
    "de": ["Start", "Team", "Business"],
    "zh": ["入门", "团队", "企业"],
    "ja": ["スターター", "チーム", "ビジネス"],
    "ko": ["스타터", "팀", "비즈니스"],
    "th": ["เริ่มต้น", "ทีม", "ธุรกิจ"],
    "ar": ["المبتدئين", "الفريق", "الأعمال"],
}
QUESTIONS = {
    "en": "Where is my refund?",
    "es": "¿Dónde está mi reembolso?",
    "de": "Wo bleibt meine Erstattung?",
    "zh": "我的退款在哪里？",
    "ja": "返金はいつ届きますか？",
    "ko": "환불은 언제 되나요?",
    "th": "เงินคืนของฉันอยู่ที่ไหน",
    "ar": "أين المبلغ المسترد؟",
}


def answer(rng: random.Random, language: str) -> str:
    """One answer in ``language``: a template of that language with its own figures and names."""
    template = rng.choice(TEMPLATES[language])
    return template.format(
        amount=f"{rng.randint(5, 999)}.{rng.randint(0, 99):02d}",
        order=f"{rng.choice('ABCDEFGHJK')}{rng.randint(10000, 99999)}",
        day=rng.randint(1, 28),
        card=rng.randint(1000, 9999),
        n=rng.randint(2, 30),
        plan=rng.choice(PLANS[language]),
        seats=rng.randint(3, 500),
        gb=rng.randint(5, 200),
    )


def fragment(rng: random.Random, text: str, *, low: int = 8, high: int = 20) -> str:
    """A verbatim piece from inside ``text``, ``low`` to ``high`` characters, as a person would type or quote it."""
    size = rng.randint(low, min(high, len(text)))
    start = rng.randint(0, len(text) - size)
    return text[start : start + size]
