"""The console's words in English, Spanish and Chinese (the tablet's languages).

Every key has all three; a test checks it. Numbers, dates and ids are not translated.
"""

from __future__ import annotations

LANGUAGES = ("en", "es", "zh")
LANGUAGE_NAMES = {"en": "English", "es": "Español", "zh": "中文"}

TEXT: dict[str, tuple[str, str, str]] = {
    "console": ("Headquarters console", "Consola central", "总部控制台"),
    "overview": ("Overview", "Resumen", "概览"),
    "products": ("Products", "Productos", "商品"),
    "members": ("Members", "Socios", "会员"),
    "segments": ("Segments", "Segmentos", "客群"),
    "stores": ("Stores", "Tiendas", "门店"),
    "notifications": ("Notifications", "Notificaciones", "通知"),
    "catalog": ("Catalog and models", "Catálogo y modelos", "商品目录与模型"),
    "log_in": ("Log in", "Iniciar sesión", "登录"),
    "log_out": ("Log out", "Cerrar sesión", "退出"),
    "username": ("Username", "Usuario", "用户名"),
    "password": ("Password", "Contraseña", "密码"),
    "logged_in_as": ("Logged in as", "Sesión de", "当前用户"),
    "role_admin": ("admin", "administrador", "管理员"),
    "role_analyst": ("analyst (read only)", "analista (solo lectura)", "分析师（只读）"),
    "role_store_manager": ("store manager", "gerente de tienda", "店长"),
    "today": ("Today", "Hoy", "今天"),
    "period": ("Period", "Periodo", "时段"),
    "from": ("From", "Desde", "从"),
    "to": ("To", "Hasta", "至"),
    "store": ("Store", "Tienda", "门店"),
    "all_stores": ("All my stores", "Todas mis tiendas", "我的全部门店"),
    "category": ("Category", "Categoría", "品类"),
    "size": ("Size", "Talla", "尺码"),
    "any": ("Any", "Cualquiera", "全部"),
    "apply": ("Apply", "Aplicar", "应用"),
    "visitors": ("Visitors", "Visitantes", "访客"),
    "members_recognised": ("Members recognised", "Socios reconocidos", "识别会员"),
    "tryons": ("Try-ons", "Pruebas", "试穿"),
    "conversion": ("Conversion", "Conversión", "转化率"),
    "sales": ("Sales", "Ventas", "销售单数"),
    "revenue": ("Revenue", "Ingresos", "销售额"),
    "per_store": ("Per store", "Por tienda", "各门店"),
    "chain": ("Chain", "Cadena", "全连锁"),
    "per_day": ("Per day", "Por día", "每日"),
    "store_health": ("Store health", "Estado de las tiendas", "门店状态"),
    "last_upload": ("Last contact", "Último contacto", "最近联系"),
    "newest_event": ("Newest event", "Evento más reciente", "最新事件"),
    "backlog": ("Backlog", "Pendientes", "待上传"),
    "dead_letters": ("Dead letters", "Rechazados", "死信"),
    "readers_offline": ("Readers offline", "Lectores sin conexión", "离线读写器"),
    "cameras_offline": ("Cameras offline", "Cámaras sin conexión", "离线摄像头"),
    "open_alarms": ("Open alarms", "Alarmas abiertas", "未处理告警"),
    "minutes_ago": ("min ago", "min", "分钟前"),
    "never": ("never", "nunca", "从未"),
    "not_reported": ("not reported", "sin informe", "未上报"),
    "no_data": (
        "No try-ons, visits or sales from {day_from} to {day_to} in these stores.",
        "Sin pruebas, visitas ni ventas del {day_from} al {day_to} en estas tiendas.",
        "{day_from} 至 {day_to} 这些门店没有试穿、到店或销售记录。",
    ),
    "latest_data": (
        "The latest data is from {day}.",
        "Los últimos datos son del {day}.",
        "最新数据日期为 {day}。",
    ),
    "show_that_week": (
        "Show the week up to that day",
        "Ver la semana hasta ese día",
        "查看截至该日的一周",
    ),
    "no_data_at_all": (
        "No store has uploaded try-ons, visits or sales yet.",
        "Ninguna tienda ha enviado todavía pruebas, visitas o ventas.",
        "尚无门店上传试穿、到店或销售数据。",
    ),
    "product": ("Product", "Producto", "商品"),
    "colour": ("Colour", "Color", "颜色"),
    "tries": ("Try-ons with outcome", "Pruebas con resultado", "有结果的试穿"),
    "purchases": ("Bought after trying", "Compradas tras probar", "试穿后购买"),
    "units_sold": ("Units sold", "Unidades vendidas", "售出件数"),
    "trend": (
        "Trend (try-ons per day; per month over two months)",
        "Tendencia (pruebas por día; por mes en periodos largos)",
        "趋势（每日试穿；超过两个月按月）",
    ),
    "tobr": ("Tried often, bought rarely", "Se prueba mucho, se compra poco", "试穿多、购买少"),
    "tobr_rule": (
        "At least {min_tries} try-ons and at most {max_pct}% bought.",
        "Al menos {min_tries} pruebas y como máximo un {max_pct}% comprado.",
        "至少试穿 {min_tries} 次且购买率不超过 {max_pct}%。",
    ),
    "tobr_empty": (
        "No product in this selection meets the rule.",
        "Ningún producto de esta selección cumple la regla.",
        "当前筛选中没有符合条件的商品。",
    ),
    "min_tries": ("Min. try-ons", "Pruebas mín.", "最少试穿"),
    "max_conversion": ("Max. conversion %", "Conversión máx. %", "最高转化率 %"),
    "by_category": ("Conversion by category", "Conversión por categoría", "按品类转化率"),
    "by_store": ("Conversion by store", "Conversión por tienda", "按门店转化率"),
    "all_products": ("All products", "Todos los productos", "全部商品"),
    "export_csv": ("Export CSV", "Exportar CSV", "导出 CSV"),
    "search": ("Search", "Buscar", "搜索"),
    "search_hint": (
        "Phone, e-mail, external id or member id",
        "Teléfono, e-mail, id externo o id de socio",
        "手机号、邮箱、外部编号或会员编号",
    ),
    "no_member_found": (
        "No member found for {query}.",
        "Ningún socio para {query}.",
        "未找到 {query} 对应的会员。",
    ),
    "member": ("Member", "Socio", "会员"),
    "name": ("Name", "Nombre", "姓名"),
    "tier": ("Tier", "Nivel", "等级"),
    "home_store": ("Home store", "Tienda principal", "所属门店"),
    "channels": ("Channels", "Canales", "渠道"),
    "tags": ("Tags", "Etiquetas", "标签"),
    "consent_history": ("Consent history", "Historial de consentimientos", "授权记录"),
    "scope": ("Scope", "Ámbito", "范围"),
    "given": ("given", "concedido", "已同意"),
    "withdrawn": ("withdrawn", "retirado", "已撤回"),
    "source": ("Source", "Origen", "来源"),
    "at": ("At", "Fecha", "时间"),
    "points_ledger": ("Points ledger", "Movimientos de puntos", "积分明细"),
    "balance": ("Balance", "Saldo", "余额"),
    "points": ("Points", "Puntos", "积分"),
    "cause": ("Cause", "Motivo", "原因"),
    "visits": ("Visits", "Visitas", "到店"),
    "outcome": ("Outcome", "Resultado", "结果"),
    "quantity": ("Quantity", "Cantidad", "数量"),
    "amount": ("Amount", "Importe", "金额"),
    "none_yet": ("None yet.", "Todavía nada.", "暂无。"),
    "erase": ("Erase this member", "Borrar este socio", "删除该会员"),
    "erase_confirm": (
        "Type the member id to confirm. Face data goes at once; personal data after the "
        "retention period. Every store is told to delete its copy.",
        "Escriba el id del socio para confirmar. Los datos faciales se borran al momento; los "
        "personales al acabar el plazo de conservación. Se avisa a todas las tiendas.",
        "请输入会员编号以确认。人脸数据立即删除，个人数据在保留期满后删除，并通知所有门店删除副本。",
    ),
    "erase_mismatch": (
        "The id typed does not match: nothing was erased.",
        "El id no coincide: no se ha borrado nada.",
        "输入的编号不一致，未删除。",
    ),
    "erased_at": ("Erased at", "Borrado el", "删除时间"),
    "store_confirmed": ("Confirmed by the store", "Confirmado por la tienda", "门店确认"),
    "waiting": ("waiting", "pendiente", "等待中"),
    "audit_log": ("Audit log", "Registro de auditoría", "审计日志"),
    "actor": ("Who", "Quién", "操作人"),
    "action": ("Action", "Acción", "操作"),
    "rfm_grid": (
        "RFM grid: members (revenue) by recency and frequency score",
        "Cuadrícula RFM: socios (ingresos) por recencia y frecuencia",
        "RFM 网格：按最近购买与频次评分的会员数（销售额）",
    ),
    "recency": ("Recency score", "Recencia", "最近购买评分"),
    "frequency": ("Frequency score", "Frecuencia", "购买频次评分"),
    "segment": ("Segment", "Segmento", "客群"),
    "export_ids": ("Export member ids", "Exportar ids", "导出会员编号"),
    "no_buyers": (
        "No member bought in this period.",
        "Ningún socio compró en este periodo.",
        "该时段没有会员购买。",
    ),
    "map": (
        "Stores on the map (circle: attributed revenue)",
        "Tiendas en el mapa (círculo: ingresos atribuidos)",
        "门店分布（圆圈：归属销售额）",
    ),
    "home_members": ("Home-store members", "Socios de la tienda", "所属会员"),
    "share_paid": ("Share paid", "Cuota pagada", "支付分成"),
    "share_received": ("Share received", "Cuota recibida", "获得分成"),
    "attributed": ("Attributed revenue", "Ingresos atribuidos", "归属销售额"),
    "revenue_share": ("Revenue share", "Cuota de ingresos", "销售额占比"),
    "benefit_rule": (
        "A sale to a member of another home store pays that store {pct}% of it.",
        "Una venta a un socio de otra tienda principal le paga un {pct}%.",
        "向其他门店所属会员的销售，向该门店支付 {pct}% 分成。",
    ),
    "reserve_to_buy": (
        "Reserve online, try in store",
        "Reservar en línea, probar en tienda",
        "线上预约，门店试穿",
    ),
    "reserve_rule": (
        "Closed reservations whose time window started in the period; conversion: items bought "
        "of items reserved.",
        "Reservas cerradas cuya franja empezó en el periodo; conversión: artículos comprados "
        "de los reservados.",
        "时段内开始且已结束的预约；转化率：购买件数 / 预约件数。",
    ),
    "reservations": ("Reservations", "Reservas", "预约数"),
    "came": ("Came", "Vinieron", "到店"),
    "never_came": ("Never came", "No vinieron", "未到店"),
    "items": ("Items", "Artículos", "件数"),
    "items_bought": ("Bought", "Comprados", "已购买"),
    "items_tried_not_bought": ("Tried, not bought", "Probados sin comprar", "试穿未购买"),
    "delivery_log": ("Delivery log", "Registro de envíos", "发送记录"),
    "failures_only": ("Failures only", "Solo fallos", "仅失败"),
    "kind": ("Kind", "Tipo", "类型"),
    "channel": ("Channel", "Canal", "渠道"),
    "result": ("Result", "Resultado", "结果"),
    "delivered": ("delivered", "entregado", "已送达"),
    "failed": ("failed", "fallido", "失败"),
    "attempts": ("Attempts", "Intentos", "尝试次数"),
    "status": ("Status", "Estado", "状态"),
    "next_attempt": ("Next attempt", "Próximo intento", "下次尝试"),
    "error": ("Error", "Error", "错误"),
    "catalog_version": ("Catalog version", "Versión del catálogo", "目录版本"),
    "products_count": ("Products", "Productos", "商品数"),
    "models": ("Recommender models", "Modelos de recomendación", "推荐模型"),
    "version": ("Version", "Versión", "版本"),
    "uploaded": ("Uploaded", "Subido", "上传时间"),
    "picked_up": ("Picked up by each store", "Recogido por cada tienda", "各门店获取时间"),
    "not_yet": ("not yet", "aún no", "尚未"),
    "filter_error": ("Check the filter", "Revise el filtro", "请检查筛选条件"),
    "read_only": ("Your role reads only.", "Su rol es de solo lectura.", "您的角色只能查看。"),
    "language": ("Language", "Idioma", "语言"),
    "yes": ("yes", "sí", "是"),
    "no": ("no", "no", "否"),
    "members_count": ("Members", "Socios", "会员数"),
}


def pick_language(query: str | None, cookie: str | None, accept: str | None) -> str:
    for candidate in (query, cookie):
        if candidate in LANGUAGES:
            return candidate
    for part in (accept or "").split(","):
        code = part.split(";")[0].strip().lower()[:2]
        if code in LANGUAGES:
            return code
    return "en"


def translate(lang: str, key: str, **values: object) -> str:
    words = TEXT.get(key)
    if words is None:
        return key
    text = words[LANGUAGES.index(lang) if lang in LANGUAGES else 0]
    return text.format(**values) if values else text
